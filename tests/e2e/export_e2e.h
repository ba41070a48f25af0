/*
 * export_e2e.h — what the export/import e2e test's two files share: the
 * round trips (test_e2e_export.c, which holds main) and the damaged, one-run
 * and version 1 archives (test_e2e_export_archives.c), one executable since
 * the latter read the archive the round trip wrote.
 */
#ifndef WBT_EXPORT_E2E_H
#define WBT_EXPORT_E2E_H

#include <stddef.h>

#include "harness.h"

/* a: the source server, b: the import target; root: the test's directory */
extern wbt_server a, b;
extern char root[256];

/* Run the wb binary with args (argv, NULL-terminated); its exit status, -1 if it did not exit. */
int run_wb(const char *const *args);
/* The same GET on a and on x gives the same bytes (images, artifact files). Returns the length. */
size_t same_bytes_on(const wbt_server *x, const char *path);

void test_e2e_export__damaged_archives_write_nothing(void **state);
void test_e2e_export__one_run_and_version_1_archives(void **state);

#endif
