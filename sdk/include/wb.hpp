/*
 * wb.hpp — a header-only C++17 wrapper of libwb (sdk/include/wb.h).
 *
 *     #include <wb.hpp>
 *     wb::options o;
 *     o.project = "mnist";
 *     wb::run run(o);                           // throws wb::error when wb_run_init fails
 *     run.config("optimizer.lr", 0.05);
 *     for (int64_t step = 0; step < steps; step++)
 *             run.log({{"loss", loss}, {"acc", acc}}, step);
 *     run.histogram("weights", w);              // also image(), image_rgb(), table()
 *     run.summary("test/acc", test_acc);
 *     run.finish();                             // or let the destructor do it
 *
 * Errors are exceptions. C++17 has no std::expected, and an expected-style
 * API would make every call site of a training loop check a result the
 * loop cannot act on anyway. Every failing libwb call throws wb::error,
 * which carries the SDK's code (wb::error::code(), a wb_error) and the
 * message of wb_strerror() and wb_errmsg(). For the hot path there is
 * also run::try_log(), noexcept, returning the code, for loops that must
 * never unwind because of tracking.
 *
 * wb::run is RAII and move-only: it owns one wb_run. Its destructor
 * finishes the run if finish() was not called, with exit code 1 when the
 * destructor runs during stack unwinding caused by an exception thrown
 * after the run was created (std::uncaught_exceptions), else 0; the
 * destructor never throws (a failing wb_run_finish there is reported by
 * libwb's own warning on stderr, and the data stays in the run log).
 *
 * Threads: as wb.h — one wb::run may be used from several threads, except
 * finish(), destruction and moves.
 *
 * Compiles with -std=c++17 -Wall -Wextra -Werror -pedantic; links with
 * libwb (wb::wb in CMake, `pkg-config --libs wb`).
 */
#ifndef WB_HPP
#define WB_HPP

#include "wb.h"

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace wb {

/* A failed libwb call: code() is the wb_error code, what() says
 * "<call>: <wb_errmsg()> (<wb_strerror(code)>)". */
class error : public std::runtime_error {
public:
	error(int code, const std::string &what) : std::runtime_error(what), code_(code) {}
	int code() const noexcept { return code_; }

private:
	int code_;
};

namespace detail {
inline void check(int rc, const char *call)
{
	if (rc == WB_OK)
		return;
	std::string msg(call);
	const char *detail = wb_errmsg();
	if (detail && *detail) {
		msg += ": ";
		msg += detail;
	}
	msg += " (";
	msg += wb_strerror(rc);
	msg += ")";
	throw error(rc, msg);
}
inline const char *c_str(const std::optional<std::string> &s) { return s ? s->c_str() : nullptr; }
} // namespace detail

/* One metric point for run::log: a key and any arithmetic value (int,
 * float, double, bool, int64_t ...), converted to double. The key pointer
 * must outlive the log call (a literal or a std::string of the caller). */
struct metric {
	template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
	metric(const char *k, T v) : key(k), value(static_cast<double>(v))
	{
	}
	template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
	metric(const std::string &k, T v) : key(k.c_str()), value(static_cast<double>(v))
	{
	}
	const char *key;
	double value;
};

/* Options of wb::run, mirroring wb_init_options: an empty optional means
 * "from the environment, the settings file, else the default". */
struct options {
	std::optional<std::string> project, entity, name, group, job_type, notes, tags, run_id, base_url, api_key,
		dir, ca_file;
	wb_mode mode = WB_MODE_DEFAULT;
	std::optional<bool> disable_git;
	std::optional<int> system_sample_ms;    /* as in C: 0 the default, < 0 off */
	std::optional<unsigned> finish_timeout_ms;
};

/* Pass as step: the run's next step. */
constexpr int64_t step_auto = WB_STEP_AUTO;

class run {
public:
	/* Start a run (wb_run_init). Throws wb::error. */
	explicit run(const options &o = options())
	{
		wb_init_options io = WB_INIT_OPTIONS_INIT;
		io.project = detail::c_str(o.project);
		io.entity = detail::c_str(o.entity);
		io.name = detail::c_str(o.name);
		io.group = detail::c_str(o.group);
		io.job_type = detail::c_str(o.job_type);
		io.notes = detail::c_str(o.notes);
		io.tags = detail::c_str(o.tags);
		io.run_id = detail::c_str(o.run_id);
		io.base_url = detail::c_str(o.base_url);
		io.api_key = detail::c_str(o.api_key);
		io.dir = detail::c_str(o.dir);
		io.ca_file = detail::c_str(o.ca_file);
		io.mode = o.mode;
		if (o.disable_git)
			io.disable_git = *o.disable_git ? 1 : 0;
		if (o.system_sample_ms)
			io.system_sample_ms = *o.system_sample_ms;
		if (o.finish_timeout_ms)
			io.finish_timeout_ms = *o.finish_timeout_ms;
		detail::check(wb_run_init(&h_, &io), "wb_run_init");
		uncaught_ = std::uncaught_exceptions();
	}

	run(const run &) = delete;
	run &operator=(const run &) = delete;
	run(run &&o) noexcept : h_(std::exchange(o.h_, nullptr)), uncaught_(o.uncaught_) {}
	run &operator=(run &&o) noexcept
	{
		if (this != &o) {
			close_quietly();
			h_ = std::exchange(o.h_, nullptr);
			uncaught_ = o.uncaught_;
		}
		return *this;
	}
	~run() { close_quietly(); }

	/* The C handle, for calls this wrapper does not cover; nullptr once
	 * finished or moved from. */
	wb_run *handle() const noexcept { return h_; }
	explicit operator bool() const noexcept { return h_ != nullptr; }

	std::string id() const { return wb_run_id(live("id")); }
	std::string name() const { return wb_run_name(live("name")); }
	std::string url() const { return wb_run_url(live("url")); }
	std::string dir() const { return wb_run_dir(live("dir")); }
	/* The last step logged, -1 before the first log. */
	int64_t step() const { return wb_run_step(live("step")); }
	/* True once the server said this run should stop (a sweep's early
	 * stopping): save, finish and exit. A flag read; see wb_run_should_stop. */
	bool should_stop() const { return wb_run_should_stop(live("should_stop")) != 0; }

	/* Log metrics at one step: run.log({{"loss", x}, {"acc", y}}, step). */
	void log(std::initializer_list<metric> m, int64_t step = step_auto)
	{
		detail::check(try_log(m.begin(), m.size(), step), "wb_run_log");
	}
	void log(const std::vector<metric> &m, int64_t step = step_auto)
	{
		detail::check(try_log(m.data(), m.size(), step), "wb_run_log");
	}
	/* As log(), without exceptions: returns the wb_error code. */
	int try_log(std::initializer_list<metric> m, int64_t step = step_auto) noexcept
	{
		return try_log(m.begin(), m.size(), step);
	}
	int try_log(const metric *m, size_t n, int64_t step) noexcept
	{
		if (!h_)
			return WB_ESTATE;
		wb_metric buf[64];
		if (n <= 64) {
			for (size_t i = 0; i < n; i++)
				buf[i] = wb_metric{m[i].key, m[i].value};
			return wb_run_log(h_, buf, n, step);
		}
		try {
			std::vector<wb_metric> v;
			v.reserve(n);
			for (size_t i = 0; i < n; i++)
				v.push_back(wb_metric{m[i].key, m[i].value});
			return wb_run_log(h_, v.data(), n, step);
		} catch (...) {
			return WB_ENOMEM;
		}
	}

	/* Config: config(key, value) sets (bool, any integer up to 64 bits,
	 * floating point, strings); config<T>(key) reads (throws wb::error
	 * with WB_ENOTFOUND or WB_ETYPE). */
	template <typename T> void config(const std::string &key, const T &value)
	{
		const char *k = key.c_str();
		if constexpr (std::is_same_v<T, bool>)
			detail::check(wb_config_set_bool(live("config"), k, value ? 1 : 0), "wb_config_set_bool");
		else if constexpr (std::is_integral_v<T>)
			detail::check(wb_config_set_int(live("config"), k, static_cast<int64_t>(value)),
				      "wb_config_set_int");
		else if constexpr (std::is_floating_point_v<T>)
			detail::check(wb_config_set_double(live("config"), k, static_cast<double>(value)),
				      "wb_config_set_double");
		else
			detail::check(wb_config_set_string(live("config"), k, std::string(value).c_str()),
				      "wb_config_set_string");
	}
	template <typename T> T config(const std::string &key) const
	{
		const char *k = key.c_str();
		if constexpr (std::is_same_v<T, bool>) {
			int v = 0;
			detail::check(wb_config_get_bool(live("config"), k, &v), "wb_config_get_bool");
			return v != 0;
		} else if constexpr (std::is_integral_v<T>) {
			int64_t v = 0;
			detail::check(wb_config_get_int(live("config"), k, &v), "wb_config_get_int");
			return static_cast<T>(v);
		} else if constexpr (std::is_floating_point_v<T>) {
			double v = 0;
			detail::check(wb_config_get_double(live("config"), k, &v), "wb_config_get_double");
			return static_cast<T>(v);
		} else {
			static_assert(std::is_same_v<T, std::string>, "config<T>: bool, integers, floating point or std::string");
			/* copied under the config's lock: another thread may set the key meanwhile */
			std::string v(64, '\0');
			size_t len = 0;
			int rc;
			while ((rc = wb_config_copy_string(live("config"), k, v.data(), v.size() + 1, &len)) == WB_ERANGE)
				v.resize(len);
			detail::check(rc, "wb_config_copy_string");
			v.resize(len);
			return v;
		}
	}

	/* Explicit summary values: numbers or strings. */
	template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
	void summary(const std::string &key, T value)
	{
		detail::check(wb_summary_set_double(live("summary"), key.c_str(), static_cast<double>(value)),
			      "wb_summary_set_double");
	}
	void summary(const std::string &key, const std::string &value)
	{
		detail::check(wb_summary_set_string(live("summary"), key.c_str(), value.c_str()),
			      "wb_summary_set_string");
	}
	void summary(const std::string &key, const char *value) { summary(key, std::string(value)); }

	void define_metric(const std::string &key_or_glob, const char *step_metric = nullptr, unsigned summary = 0)
	{
		detail::check(wb_run_define_metric(live("define_metric"), key_or_glob.c_str(), step_metric, summary),
			      "wb_run_define_metric");
	}

	/* Rich data (wb.h: wb_run_log_histogram and the rest). step_auto attaches
	 * the value to the run's current step (the last step logged). */
	void histogram(const std::string &key, const std::vector<double> &values, int64_t step = step_auto)
	{
		detail::check(wb_run_log_histogram(live("histogram"), key.c_str(), values.data(), values.size(), step),
			      "wb_run_log_histogram");
	}
	/* edges.size() == counts.size() + 1 */
	void histogram(const std::string &key, const std::vector<double> &edges, const std::vector<double> &counts,
		       int64_t step = step_auto)
	{
		if (edges.size() != counts.size() + 1)
			throw error(WB_EINVAL, "histogram: edges must be one more than counts");
		detail::check(wb_run_log_histogram_bins(live("histogram"), key.c_str(), edges.data(), counts.data(),
						    counts.size(), step),
			      "wb_run_log_histogram_bins");
	}
	/* Encoded PNG or JPEG bytes. */
	void image(const std::string &key, const void *png_or_jpeg, size_t len, const char *caption = nullptr,
		   int64_t step = step_auto)
	{
		detail::check(wb_run_log_image(live("image"), key.c_str(), png_or_jpeg, len, caption, step), "wb_run_log_image");
	}
	/* width x height RGB pixels, rows top to bottom, encoded as PNG by libwb. */
	void image_rgb(const std::string &key, const uint8_t *rgb, uint32_t width, uint32_t height,
		       const char *caption = nullptr, int64_t step = step_auto)
	{
		detail::check(wb_run_log_image_rgb(live("image"), key.c_str(), rgb, width, height, caption, step),
			      "wb_run_log_image_rgb");
	}
	/* A table as JSON text: {"columns": [...], "data": [[...], ...]}. */
	void table(const std::string &key, const std::string &json, int64_t step = step_auto)
	{
		detail::check(wb_run_log_table(live("table"), key.c_str(), json.c_str(), step), "wb_run_log_table");
	}

#ifdef WB_ALERT_INTERVAL_DEFAULT /* a wb.h with notifications (wb_run_alert) */
	/* Raise an alert through the server's notification channels. */
	void alert(wb_alert_level level, const std::string &title, const std::string &text = std::string())
	{
		detail::check(wb_run_alert(live("alert"), level, title.c_str(), text.c_str()), "wb_run_alert");
	}
#endif

	/* End the run (exit code 0: finished, else failed). The run is
	 * finished either way; throws wb::error when not everything reached
	 * the server (it stays in the run log for `wb sync`). */
	void finish(int exit_code = 0)
	{
		wb_run *h = std::exchange(h_, nullptr);
		if (h)
			detail::check(wb_run_finish(h, exit_code), "wb_run_finish");
	}

private:
	wb_run *live(const char *what) const
	{
		if (!h_)
			throw error(WB_ESTATE, std::string(what) + " on a finished run");
		return h_;
	}
	void close_quietly() noexcept
	{
		wb_run *h = std::exchange(h_, nullptr);
		if (h)
			(void)wb_run_finish(h, std::uncaught_exceptions() > uncaught_ ? 1 : 0);
	}

	wb_run *h_ = nullptr;
	int uncaught_ = 0;
};

} // namespace wb

#endif /* WB_HPP */
