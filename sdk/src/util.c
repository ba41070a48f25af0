/*
 * util.c — clocks, condition variables, threads and small files (see util.h).
 *
 * Nothing here knows about runs or records; these are the POSIX calls the
 * rest of the SDK would otherwise repeat, with their failure modes decided
 * once: a bounded wait uses CLOCK_MONOTONIC, a background thread blocks all
 * signals, a small file is replaced by rename so that a crash leaves the
 * old or the new content and never half of one.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynarr.h"
#include "error.h"

int wb__cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int rc;

	rc = pthread_condattr_init(&attr);
	if (rc)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

int wb__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms)
{
	struct timespec ts;

	if (deadline_ms <= wb__mono_ms())
		return ETIMEDOUT;
	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	return pthread_cond_timedwait(cv, mu, &ts);
}

int wb__thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return wb__error(WB_ENOMEM, "cannot start the %s thread: %s", what, strerror(rc));
	return WB_OK;
}

char *wb__strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int wb__asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*out = NULL;
		return wb__error(WB_ENOMEM, "out of memory");
	}
	return WB_OK;
}

int wb__mkdir_p(const char *path)
{
	char *copy = NULL;
	int rc = WB_OK;
	size_t len;

	copy = wb__strdup(path);
	if (!copy)
		return wb__error(WB_ENOMEM, "out of memory");
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	for (char *p = copy + 1;; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			rc = wb__error(WB_EIO, "cannot create directory %s: %s", copy, strerror(errno));
			goto done;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	{
		struct stat st;
		if (stat(copy, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = wb__error(WB_EIO, "%s is not a directory", copy);
	}
done:
	free(copy);
	return rc;
}

int wb__file_write_atomic(const char *path, const void *data, size_t len, int sync)
{
	char *tmp = NULL;
	int fd = -1, rc;
	const char *p = data;

	rc = wb__asprintf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	if (rc)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = wb__error(WB_EIO, "cannot create %s: %s", tmp, strerror(errno));
		goto done;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = wb__error(WB_EIO, "cannot write %s: %s", tmp, n < 0 ? strerror(errno) : "short write");
			goto done;
		}
		p += n;
		len -= (size_t)n;
	}
	if (sync && fsync(fd) != 0) {
		rc = wb__error(WB_EIO, "cannot sync %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = wb__error(WB_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = wb__error(WB_EIO, "cannot rename %s: %s", tmp, strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	return rc;
}

int wb__file_read(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	size_t have = 0;
	int fd, rc = WB_OK;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return wb__error(WB_ENOTFOUND, "%s does not exist", path);
		return wb__error(WB_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	buf = malloc(max + 1);
	if (!buf) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, max + 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = wb__error(WB_EIO, "cannot read %s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			rc = wb__error(WB_EIO, "%s is larger than %zu bytes", path, max);
			goto done;
		}
	}
	buf[have] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = have;
done:
	free(buf);
	close(fd);
	return rc;
}

char *wb__url_strip_credentials(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL;
	char *out;
	size_t n;

	if (!auth)
		return strdup(url);
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return strdup(url);
	n = strlen(url) - (size_t)(at + 1 - auth);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	memcpy(out, url, (size_t)(auth - url));
	strcpy(out + (auth - url), at + 1);
	return out;
}

int wb__reserve(void *arrp, size_t *cap, size_t n, size_t more, size_t size, size_t max, const char *what)
{
	switch (wb__dynarr_reserve(arrp, cap, n, more, size, max)) {
	case WB__DYNARR_OK: return WB_OK;
	case WB__DYNARR_TOOBIG: return wb__error(WB_ENOMEM, "%s: more than %zu", what, max);
	default: return wb__error(WB_ENOMEM, "out of memory");
	}
}
