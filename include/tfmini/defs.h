/* libtfmini: definitions shared by every public header.
 *
 * Conventions of the whole API (read once):
 *  - Every handle is opaque; nothing is passed by value but scalars and pointers.
 *  - Arrays are passed as a pointer plus a count.
 *  - Errors: every fallible call takes a `tfm_status *status` as its last argument.
 *    Calls that do work return a tfm_code (TFM_OK on success); calls that create
 *    or look up a handle return it, or NULL on failure. In both cases the status,
 *    when not NULL, receives the code and a message naming the op, tensor, file or
 *    argument at fault. A NULL status is allowed: the code is still returned.
 *  - Ownership: a function named *_new or *_create returns a handle the caller owns
 *    and frees with the matching *_delete / *_release. Handles returned by other
 *    functions (tfm_op, tfm_output) are owned by their graph and live as long as it.
 */
#ifndef TFMINI_DEFS_H
#define TFMINI_DEFS_H

#include <stddef.h>
#include <stdint.h>

#if defined(TFM_BUILDING_LIBRARY) && defined(__GNUC__)
#define TFM_API __attribute__((visibility("default")))
#else
#define TFM_API
#endif

#ifdef __cplusplus
#define TFM_BEGIN_DECLS extern "C" {
#define TFM_END_DECLS }
#else
#define TFM_BEGIN_DECLS
#define TFM_END_DECLS
#endif

/* The largest tensor rank the library accepts. */
#define TFM_MAX_RANK 8

#endif
