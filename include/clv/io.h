/**
 * @file io.h
 * @brief The libclv model file format: version constants and a header probe.
 *
 * libclv saves fitted objects in one versioned binary container (magic
 * "CLVMODEL", explicit little-endian layout, CRC-64 checksum; the full spec is
 * docs/model-format.md). Objects that can be saved offer their own save/load
 * functions in their headers; this header holds only what is generic:
 *
 *  - the format version this libclv writes (macros plus function twins, so
 *    bindings can ask the library they actually loaded);
 *  - clv_file_format_version(), which reads a file's header only, so a tool
 *    can say "this file is format 2.1, your libclv reads 1.x" without parsing
 *    or even trusting the rest of the file.
 *
 * Compatibility: a libclv reads every file whose format major equals its own
 * CLV_MODEL_FORMAT_MAJOR, whatever the minor (sections it does not know are
 * skipped); files with a newer major are refused with CLV_EFORMAT and a
 * message asking to upgrade libclv.
 */
#ifndef CLV_IO_H
#define CLV_IO_H

#include "common.h"

CLV_BEGIN_DECLS

/** Major version of the model file format this libclv writes and reads. */
#define CLV_MODEL_FORMAT_MAJOR 1u
/** Minor version of the model file format this libclv writes (it reads any minor of its major). */
#define CLV_MODEL_FORMAT_MINOR 0u

/** @return CLV_MODEL_FORMAT_MAJOR of the library (for FFIs that cannot read macros). */
CLV_API uint32_t clv_model_format_major(void);
/** @return CLV_MODEL_FORMAT_MINOR of the library. */
CLV_API uint32_t clv_model_format_minor(void);

/**
 * Read the format version from the header of a libclv model file, without
 * reading or checking the rest of the file (no checksum, no sections). The
 * version is reported whether or not this libclv can load the file.
 * @param path   file to inspect.
 * @param major  receives the format major version.
 * @param minor  receives the format minor version.
 * @return CLV_OK; CLV_EINVAL (NULL argument); CLV_EIO (cannot open or read:
 *         the message names the path); CLV_EFORMAT (not a libclv model file,
 *         or too short to hold a header).
 */
CLV_API CLV_NODISCARD int clv_file_format_version(const char *path, uint32_t *major, uint32_t *minor);

/**
 * Write `size` bytes to `path` the way libclv saves its own files, for
 * callers' outputs (predictions, reports): a regular file, or a new name, is
 * replaced atomically (a temporary file beside it, fsync, rename, directory
 * fsync), so a failure leaves an existing file as it was; a symbolic link
 * has its target replaced, never the link; /dev/stdout, /dev/stderr,
 * /dev/fd/N and /proc/self/fd/N are written to that descriptor as it is;
 * a device, FIFO or socket is written into (never renamed over).
 * @param path  where to write.
 * @param data  the bytes (may be NULL when size is 0).
 * @param size  how many.
 * @return CLV_OK; CLV_EINVAL (NULL path, empty path, NULL data with size > 0);
 *         CLV_EIO (naming the path, the step and the OS error); CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_write_file(const char *path, const void *data, size_t size);

CLV_END_DECLS

#endif
