/*
 * stop_trainer — a trainer of the early-stopping test that ignores the
 * stop flag: it logs loss = a + b/t at steps 1..9 (a, b from its config,
 * which the sweep sets), then exits 0 when a < 3, else (a bad trial) waits
 * for a signal forever, like a loop that never checks wb_run_should_stop. Only
 * its agent can end it then.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "wb.h"

int main(void)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	double a = 0, b = 0;

	if (wb_init(&run, &o) != WB_OK) {
		fprintf(stderr, "stop_trainer: %s\n", wb_errmsg());
		return 1;
	}
	if (wb_config_get_double(run, "a", &a) != WB_OK || wb_config_get_double(run, "b", &b) != WB_OK)
		return 1;
	for (int t = 1; t <= 9; t++)
		if (WB_LOG(run, t, {"loss", a + b / t}) != WB_OK)
			return 1;
	if (a >= 3) {
		fprintf(stderr, "stop_trainer: training on, whatever the server says\n");
		for (;;)
			pause(); /* until the agent's SIGTERM */
	}
	return wb_finish(run, 0) == WB_OK ? 0 : 1;
}
