/* receiver.c — see receiver.h. */
#include "receiver.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void serve(wbt_rx *rx, int c)
{
	char *buf = NULL, *hend, *cl;
	size_t cap = 1 << 16, len = 0, want = 0;
	int status = 200;
	char out[256], ans[1024], path[256] = "";
	struct timeval tv = {5, 0};

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!(buf = malloc(cap + 1)))
		goto done;
	for (;;) {
		ssize_t k = recv(c, buf + len, cap - len, 0);
		if (k <= 0)
			goto done;
		len += (size_t)k;
		buf[len] = '\0';
		if ((hend = strstr(buf, "\r\n\r\n")))
			break;
		if (len == cap)
			goto done;
	}
	cl = strcasestr(buf, "\r\ncontent-length:");
	if (cl)
		want = strtoul(cl + 17, NULL, 10);
	while (len < (size_t)(hend + 4 - buf) + want && len < cap) {
		ssize_t k = recv(c, buf + len, cap - len, 0);
		if (k <= 0)
			goto done;
		len += (size_t)k;
		buf[len] = '\0';
	}
	{
		char *sp = strchr(buf, ' ');
		size_t pl = sp ? strcspn(sp + 1, " ") : 0;
		snprintf(path, sizeof(path), "%.*s", (int)(pl < sizeof(path) ? pl : sizeof(path) - 1), sp ? sp + 1 : "");
	}
	pthread_mutex_lock(&rx->mu);
	if (rx->n < WBT_RX_MAX) {
		wbt_rx_req *r = &rx->req[rx->n];
		char *sp = strchr(buf, ' ');
		size_t pl = sp ? strcspn(sp + 1, " ") : 0;
		snprintf(r->path, sizeof(r->path), "%.*s", (int)(pl < sizeof(r->path) ? pl : sizeof(r->path) - 1),
			 sp ? sp + 1 : "");
		r->body = strdup(hend + 4);
		r->headers = strndup(buf, (size_t)(hend - buf));
		r->at = mono();
		rx->n++;
	}
	if (rx->script_i < sizeof(rx->script) / sizeof(rx->script[0]) && rx->script[rx->script_i])
		status = rx->script[rx->script_i++];
	pthread_cond_broadcast(&rx->cond);
	pthread_mutex_unlock(&rx->mu);
	if (rx->answer) {
		int k;
		ans[0] = '\0';
		status = rx->answer(rx->answer_arg, path, ans, sizeof(ans));
		k = snprintf(out, sizeof(out),
			     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n",
			     status, strlen(ans));
		if (k > 0 && send(c, out, (size_t)k, MSG_NOSIGNAL) == k)
			send(c, ans, strlen(ans), MSG_NOSIGNAL);
		goto done;
	}
	if (status == 429)
		snprintf(out, sizeof(out),
			 "HTTP/1.1 429 Too Many Requests\r\nRetry-After: %u\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			 rx->retry_after);
	else
		snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
			 status);
	if (send(c, out, strlen(out), MSG_NOSIGNAL) < 0)
		goto done;
done:
	free(buf);
	close(c);
}

static void *rx_main(void *arg)
{
	wbt_rx *rx = arg;
	for (;;) {
		struct pollfd p = {rx->fd, POLLIN, 0};
		int stop;
		pthread_mutex_lock(&rx->mu);
		stop = rx->stop;
		pthread_mutex_unlock(&rx->mu);
		if (stop)
			break;
		if (poll(&p, 1, 50) == 1) {
			int c = accept(rx->fd, NULL, NULL);
			if (c >= 0)
				serve(rx, c);
		}
	}
	return NULL;
}

int wbt_rx_start(wbt_rx *rx, int port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	if (!rx->running && rx->port == 0 && rx->n == 0) {
		pthread_mutex_init(&rx->mu, NULL);
		pthread_cond_init(&rx->cond, NULL);
	}
	if (port == 0 && (port = wbt_port()) < 0)
		return -1;
	rx->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rx->fd < 0)
		return -1;
	setsockopt(rx->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (bind(rx->fd, (struct sockaddr *)&a, sizeof(a)) || listen(rx->fd, 16) ||
	    getsockname(rx->fd, (struct sockaddr *)&a, &al)) {
		close(rx->fd);
		rx->fd = -1;
		return -1;
	}
	rx->port = ntohs(a.sin_port);
	rx->stop = 0;
	if (pthread_create(&rx->thread, NULL, rx_main, rx)) {
		close(rx->fd);
		rx->fd = -1;
		return -1;
	}
	rx->running = 1;
	return 0;
}

void wbt_rx_down(wbt_rx *rx)
{
	if (!rx->running)
		return;
	pthread_mutex_lock(&rx->mu);
	rx->stop = 1;
	pthread_mutex_unlock(&rx->mu);
	pthread_join(rx->thread, NULL);
	close(rx->fd);
	rx->fd = -1;
	rx->running = 0;
}

void wbt_rx_free(wbt_rx *rx)
{
	wbt_rx_down(rx);
	for (size_t i = 0; i < rx->n; i++) {
		free(rx->req[i].body);
		free(rx->req[i].headers);
	}
	pthread_mutex_destroy(&rx->mu);
	pthread_cond_destroy(&rx->cond);
	memset(rx, 0, sizeof(*rx));
}

static size_t count_locked(wbt_rx *rx, const char *prefix)
{
	size_t k = 0;
	for (size_t i = 0; i < rx->n; i++)
		if (strncmp(rx->req[i].path, prefix, strlen(prefix)) == 0)
			k++;
	return k;
}

size_t wbt_rx_count(wbt_rx *rx, const char *prefix)
{
	size_t k;
	pthread_mutex_lock(&rx->mu);
	k = count_locked(rx, prefix);
	pthread_mutex_unlock(&rx->mu);
	return k;
}

size_t wbt_rx_count_header(wbt_rx *rx, const char *text)
{
	size_t k = 0;
	pthread_mutex_lock(&rx->mu);
	for (size_t i = 0; i < rx->n; i++)
		if (rx->req[i].headers && strcasestr(rx->req[i].headers, text))
			k++;
	pthread_mutex_unlock(&rx->mu);
	return k;
}

int wbt_rx_wait(wbt_rx *rx, const char *prefix, size_t n, double timeout_s)
{
	struct timespec until;
	int ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)timeout_s;
	pthread_mutex_lock(&rx->mu);
	while (count_locked(rx, prefix) < n)
		if (pthread_cond_timedwait(&rx->cond, &rx->mu, &until) == ETIMEDOUT)
			break;
	ok = count_locked(rx, prefix) >= n;
	pthread_mutex_unlock(&rx->mu);
	return ok ? 0 : -1;
}

char *wbt_rx_body(wbt_rx *rx, const char *prefix, size_t i, double *at)
{
	char *b = NULL;
	size_t k = 0;
	pthread_mutex_lock(&rx->mu);
	for (size_t j = 0; j < rx->n; j++) {
		if (strncmp(rx->req[j].path, prefix, strlen(prefix)) != 0)
			continue;
		if (k++ == i) {
			b = rx->req[j].body ? strdup(rx->req[j].body) : NULL;
			if (at)
				*at = rx->req[j].at;
			break;
		}
	}
	pthread_mutex_unlock(&rx->mu);
	return b;
}
