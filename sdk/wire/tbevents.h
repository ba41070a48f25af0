/*
 * tbevents.h — read TensorBoard event files without a protobuf runtime.
 *
 * An event file (events.out.tfevents.*) is a TFRecord stream:
 *
 *   length:u64le  masked_crc32c(length bytes):u32le  data[length]  masked_crc32c(data):u32le
 *
 * with masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 and CRC-32C the
 * Castagnoli CRC. Each data is a serialized tensorflow.Event; this reader
 * decodes the protobuf wire format (varints, fixed32/64, length-delimited
 * fields) for the few fields wb imports and skips everything else:
 *
 *   Event          1 wall_time:double  2 step:int64  5 summary:Summary
 *   Summary        1 value:repeated Value
 *   Value          1 tag:string  2 simple_value:float  4 image:Image  5 histo:HistogramProto
 *                  8 tensor:TensorProto  9 metadata:SummaryMetadata (1 plugin_data: 1 plugin_name)
 *   Image          1 height  2 width  4 encoded_image_string:bytes
 *   HistogramProto 1 min  2 max  6 bucket_limit:repeated double  7 bucket:repeated double
 *   TensorProto    1 dtype  2 tensor_shape (2 dim: 1 size)  4 tensor_content  5 float_val
 *                  6 double_val  8 string_val
 *
 * So scalars come from simple_value (TF1) or from a one-element float or
 * double tensor (TF2, plugin "scalars"), histograms from HistogramProto or
 * a [k, 3] tensor of (left, right, count) rows (TF2, plugin "histograms"),
 * images from Summary.Image or a string tensor [width, height, png, ...]
 * (TF2, plugin "images"; image i after the first under "<tag>/<i>"), text
 * from a string tensor (plugin "text", what add_text writes) as a table of
 * one column "text", one row per string, and hyperparameters from the
 * "hparams" plugin's session_start_info (SummaryMetadata.plugin_data
 * 2 content: HParamsPluginData 3 session_start_info: 1 hparams map of
 * name -> google.protobuf.Value 2 number / 3 string / 4 bool). The
 * plugin's other summaries (experiment, session_end_info) describe the
 * TensorBoard view, not data: they are read and ignored, not skipped.
 *
 * Bad input never stops the reader early without saying so: a record
 * whose data fails its checksum or does not decode is skipped and the next
 * one read (the length was intact); a length that fails its checksum or a
 * file that ends inside a record ends that file, since no later record can
 * be found with confidence. Values that cannot be imported (a tag wb
 * cannot use as a key, an image that is not PNG or JPEG, a malformed
 * histogram, an unsupported kind) are skipped one by one. Everything
 * skipped is counted by reason in the report, and a skipped value is
 * named to the sink (tag and plugin), so the caller can say what it lost.
 *
 * Series names: wb__tb_series_key is the one rule, for import and follow,
 * by which a value in a file below the run's directory gets its key.
 *
 * Shared by libwb (wb_run_follow_tensorboard) and the server's CLI
 * (`wb tensorboard import`). Threads: no shared state; each call is
 * independent.
 */
#ifndef WB_TBEVENTS_H
#define WB_TBEVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Why something was skipped. */
enum wb__tb_skip {
	WB__TB_TRUNCATED,  /* record: the file ends inside it (the rest of the file is lost) */
	WB__TB_LENGTH_CRC, /* record: its length fails its checksum (the rest of the file is lost) */
	WB__TB_DATA_CRC,   /* record: its data fails its checksum */
	WB__TB_BAD_EVENT,  /* record: the data is not a valid Event protobuf */
	WB__TB_BAD_STEP,   /* value: the event's step is negative */
	WB__TB_BAD_TAG,    /* value: the tag is not a valid wb key (empty, too long, control characters, leading '_', "system/") */
	WB__TB_BAD_VALUE,  /* value: a malformed histogram, image or tensor, or an image that is not PNG/JPEG */
	WB__TB_UNSUPPORTED,/* value: a kind wb does not import (audio, other plugins) */
	WB__TB_SKIP_COUNT
};

/* Short names of the reasons, for reports: "truncated", "length_crc", ... */
WB__HIDDEN extern const char *const wb__tb_skip_name[WB__TB_SKIP_COUNT];

typedef struct wb__tb_report {
	uint64_t records;   /* records whose framing was read (good or bad data) */
	uint64_t events;    /* events decoded */
	uint64_t scalars, histograms, images, texts, hparams;
	uint64_t skipped[WB__TB_SKIP_COUNT];
} wb__tb_report;

/* A hyperparameter's value, typed as TensorBoard keeps it. */
typedef struct wb__tb_hparam {
	enum { WB__TB_HP_NUMBER, WB__TB_HP_STRING, WB__TB_HP_BOOL } type;
	double number;
	const char *string; /* NUL-terminated, valid UTF-8 */
	int boolean;
} wb__tb_hparam;

/* What the reader found; the callbacks' pointers are valid only during the call. tag is
 * NUL-terminated and already checked as a wb key. Return 0 to go on, nonzero to stop
 * (wb__tb_read then returns that value). */
typedef struct wb__tb_sink {
	void *arg;
	int (*scalar)(void *arg, double wall_time, int64_t step, const char *tag, double value);
	int (*histogram)(void *arg, double wall_time, int64_t step, const char *tag, const double *edges,
			 const double *counts, size_t nbins);
	int (*image)(void *arg, double wall_time, int64_t step, const char *tag, const uint8_t *bytes, size_t len);
	/* text: table is the JSON of a wb table ({"columns": ["text"], "data": [[s], ...]}), already checked */
	int (*text)(void *arg, double wall_time, int64_t step, const char *tag, const char *table, size_t len);
	/* one hyperparameter of a session_start_info; name is a valid config key */
	int (*hparam)(void *arg, const char *name, const wb__tb_hparam *value);
	/* a value skipped for reason: tag (printable, at most 64 bytes and "..."; "" if it had none) and plugin
	 * ("" if none, else printable like tag). Called after the count is added to the report. */
	void (*skipped)(void *arg, enum wb__tb_skip reason, const char *tag, const char *plugin);
} wb__tb_sink;

/* CRC-32C (Castagnoli) of p[0..n), and TFRecord's mask of it. */
WB__HIDDEN uint32_t wb__crc32c(const void *p, size_t n);
static inline uint32_t wb__crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

/*
 * Read one event file held in buf[0..len), calling sink for each value and
 * adding to *rep (which the caller zeroes once, so several files add up).
 * Returns 0, -1 when out of memory, or a sink's nonzero return.
 */
WB__HIDDEN int wb__tb_read(const uint8_t *buf, size_t len, const wb__tb_sink *sink, wb__tb_report *rep);

/*
 * The same for a file that is still being written: a record cut short by
 * the end of buf is not an error but not read yet, and *consumed says how
 * many bytes were (the next call starts there). A bad length checksum
 * still ends the file: *consumed is then len.
 */
WB__HIDDEN int wb__tb_read_some(const uint8_t *buf, size_t len, const wb__tb_sink *sink, wb__tb_report *rep,
				size_t *consumed);

/*
 * The key of a value with tag read from a file in subdir (its directory's
 * path below the run's directory, "" for the run's own files), into
 * key[WB__KEY_MAX + 1]. hparams: the file holds an hparams session
 * (add_hparams writes one into a subdirectory of its own, with the
 * session's metrics), whose values keep their tags. Otherwise, for the
 * layouts of add_scalars(main_tag, {tag: v}), which writes main_tag into a
 * subdirectory per tag:
 *   tensorboardX          <main_tag>/<tag>/            -> "<main_tag>/<tag>"
 *   torch.utils.tensorboard <main_tag with '/' as '_'>_<tag>/ -> "<main_tag>/<tag>"
 * and any other subdirectory: "<subdir>/<tag>". 0, or -1 if the key would
 * not be a valid key (too long).
 */
WB__HIDDEN int wb__tb_series_key(char *key, const char *subdir, const char *tag, int hparams);

#endif /* WB_TBEVENTS_H */
