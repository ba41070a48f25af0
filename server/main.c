/*
 * main.c — the wb executable: `wb server`, `wb sync`, `wb version`,
 * `wb help`. One binary, so that a machine that trains and a machine that
 * serves install the same thing.
 *
 * Naming: server internals use the wbs__/WBS__ prefix. This binary links
 * libwb too (for `wb sync`), whose internals are wb__, and both are static
 * archives in one link, so the two namespaces must not meet. `wb restore`
 * (cmd_restore.c) is the one caller of a libwb internal, wb__restore_run
 * (sdk/internal/restore.h), so that libgit2 stays inside libwb's gitcap module.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "wb.h"

static const char usage[] = "usage: wb <command> [options]\n"
			    "\n"
			    "commands:\n"
			    "  server   run the tracking server (wb server --data DIR [--port 8080])\n"
			    "  sync     upload run directories (wb sync RUN_DIR...)\n"
			    "  login    store an api key for the SDK (wb login [--host URL] [--key KEY])\n"
			    "  restore  rebuild a run's code (wb restore ENTITY/PROJECT/RUN-ID [DIR])\n"
			    "  backup   copy a live server's data (wb backup DEST --data DIR)\n"
			    "  restore-backup  put a backup in place (wb restore-backup SRC --data DIR [--force])\n"
			    "  vacuum   give deleted runs' space back, sweep unreferenced files (wb vacuum --data DIR)\n"
			    "  tensorboard import  TensorBoard event files into runs (wb tensorboard import LOGDIR)\n"
			    "  export   runs into a portable archive (wb export --project E/P OUT.tar.gz)\n"
			    "  import   an export archive into a server (wb import ARCHIVE)\n"
			    "  artifact upload or download artifacts (wb artifact put|get ...)\n"
			    "  sweep    create and drive a hyperparameter sweep (wb sweep create SPEC --project E/P)\n"
			    "  agent    run a sweep's trials here (wb agent E/P/SWEEP [--count N] [--parallel K] [-- CMD])\n"
			    "  version  print the version\n"
			    "  help     print this help\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(cmd, "server") == 0)
		return wbs__cmd_server(argc - 2, argv + 2);
	if (strcmp(cmd, "sync") == 0)
		return wbs__cmd_sync(argc - 2, argv + 2);
	if (strcmp(cmd, "login") == 0)
		return wbs__cmd_login(argc - 2, argv + 2);
	if (strcmp(cmd, "restore") == 0)
		return wbs__cmd_restore(argc - 2, argv + 2);
	if (strcmp(cmd, "backup") == 0)
		return wbs__cmd_backup(argc - 2, argv + 2);
	if (strcmp(cmd, "restore-backup") == 0)
		return wbs__cmd_restore_backup(argc - 2, argv + 2);
	if (strcmp(cmd, "export") == 0)
		return wbs__cmd_export(argc - 2, argv + 2);
	if (strcmp(cmd, "import") == 0)
		return wbs__cmd_import(argc - 2, argv + 2);
	if (strcmp(cmd, "artifact") == 0)
		return wbs__cmd_artifact(argc - 2, argv + 2);
	if (strcmp(cmd, "sweep") == 0)
		return wbs__cmd_sweep(argc - 2, argv + 2);
	if (strcmp(cmd, "agent") == 0)
		return wbs__cmd_agent(argc - 2, argv + 2);
	if (strcmp(cmd, "vacuum") == 0)
		return wbs__cmd_vacuum(argc - 2, argv + 2);
	if (strcmp(cmd, "tensorboard") == 0)
		return wbs__cmd_tensorboard(argc - 2, argv + 2);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("wb %s\n", WB_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	fprintf(stderr, "wb: unknown command %s\n%s", cmd, usage);
	return 2;
}
