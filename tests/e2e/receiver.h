/*
 * receiver.h — a tiny HTTP/1.1 server on loopback for end-to-end tests of
 * outgoing webhooks: a thread accepts one connection at a time, reads a
 * request (headers and a Content-Length body), records it, and answers
 * from a script of statuses (then 200). Real sockets, no mock: the server
 * under test talks to it with libcurl like to Slack.
 */
#ifndef WBT_RECEIVER_H
#define WBT_RECEIVER_H

#include <pthread.h>
#include <stddef.h>

#define WBT_RX_MAX 256

typedef struct wbt_rx_req {
	char path[256];    /* as sent: an absolute URL when the receiver is used as a proxy */
	char *headers;     /* the request line and header lines, NUL-terminated */
	char *body; /* NUL-terminated */
	double at;  /* monotonic seconds when it arrived */
} wbt_rx_req;

typedef struct wbt_rx {
	int fd;   /* listening socket, -1 while down */
	int port;
	pthread_t thread;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stop;
	wbt_rx_req req[WBT_RX_MAX];
	size_t n;
	int script[16];        /* statuses for the next requests; 0 ends the script */
	size_t script_i;
	unsigned retry_after;  /* sent with a 429 */
	/* When set, answers every request instead of the script: fills body
	 * (NUL-terminated, at most cap bytes) with a JSON answer and returns
	 * its status. Called on the receiver's thread, just before the answer
	 * is sent, with the request recorded or not (past WBT_RX_MAX). */
	int (*answer)(void *arg, const char *path, char *body, size_t cap);
	void *answer_arg;
} wbt_rx;

/* Listen on a free loopback port (port 0) or on port. 0 or -1. */
int wbt_rx_start(wbt_rx *rx, int port);
/* Stop listening (the port refuses connections) but keep what was recorded. */
void wbt_rx_down(wbt_rx *rx);
/* Free everything (after wbt_rx_down or instead of it). */
void wbt_rx_free(wbt_rx *rx);
/* Requests whose path starts with prefix. */
size_t wbt_rx_count(wbt_rx *rx, const char *prefix);
/* Wait until at least n requests with prefix arrived, at most timeout_s. 0 or -1. */
int wbt_rx_wait(wbt_rx *rx, const char *prefix, size_t n, double timeout_s);
/* Requests (any path) whose request line or headers contain text, any case. */
size_t wbt_rx_count_header(wbt_rx *rx, const char *text);
/* The i-th request with prefix (a copy of its body, caller frees), or NULL. */
char *wbt_rx_body(wbt_rx *rx, const char *prefix, size_t i, double *at);

#endif
