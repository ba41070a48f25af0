/*
 * compat.c — the names of version 0.1 (wb.h, "Earlier names"): each is
 * the call named under the house rule, so that programs written or built
 * against 0.1 keep working.
 */
#include "wb.h"

int wb_init(wb_run **out, const wb_init_options *opts) { return wb_run_init(out, opts); }

int wb_finish(wb_run *run, int exit_code) { return wb_run_finish(run, exit_code); }

int wb_log(wb_run *run, const wb_metric *metrics, size_t n, int64_t step) { return wb_run_log(run, metrics, n, step); }

int wb_define_metric(wb_run *run, const char *key_or_glob, const char *step_metric, unsigned int summary)
{
	return wb_run_define_metric(run, key_or_glob, step_metric, summary);
}

int wb_alert(wb_run *run, wb_alert_level level, const char *title, const char *text)
{
	return wb_run_alert(run, level, title, text);
}

int wb_alert_interval_set(wb_run *run, double seconds) { return wb_run_set_alert_interval(run, seconds); }

int wb_log_histogram(wb_run *run, const char *key, const double *values, size_t n, int64_t step)
{
	return wb_run_log_histogram(run, key, values, n, step);
}

int wb_log_histogram_bins(wb_run *run, const char *key, const double *edges, const double *counts, size_t nbins,
			  int64_t step)
{
	return wb_run_log_histogram_bins(run, key, edges, counts, nbins, step);
}

int wb_log_image(wb_run *run, const char *key, const void *png_or_jpeg, size_t len, const char *caption, int64_t step)
{
	return wb_run_log_image(run, key, png_or_jpeg, len, caption, step);
}

int wb_log_image_rgb(wb_run *run, const char *key, const uint8_t *rgb, uint32_t width, uint32_t height,
		     const char *caption, int64_t step)
{
	return wb_run_log_image_rgb(run, key, rgb, width, height, caption, step);
}

int wb_log_table(wb_run *run, const char *key, const char *json, int64_t step)
{
	return wb_run_log_table(run, key, json, step);
}

int wb_tensorboard_follow(wb_run *run, const char *logdir, unsigned int period_ms)
{
	return wb_run_follow_tensorboard(run, logdir, period_ms);
}

int wb_log_artifact(wb_run *run, wb_artifact *art, const char *const *aliases, size_t n, int64_t *out_version)
{
	return wb_run_log_artifact(run, art, aliases, n, out_version);
}

int wb_use_artifact(wb_run *run, const char *spec, const char *dir, int64_t *out_version)
{
	return wb_run_use_artifact(run, spec, dir, out_version);
}

int wb_save(wb_run *run, const char *path, wb_save_policy policy) { return wb_run_save(run, path, policy); }

int wb_should_stop(const wb_run *run) { return wb_run_should_stop(run); }
