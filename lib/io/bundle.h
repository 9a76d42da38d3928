/* Checkpoint V2 "tensor bundles" (formats.md 1.2-1.3): for a prefix P, P.index (an
 * SSTable: key "" -> BundleHeaderProto, tensor name -> BundleEntryProto) and
 * P.data-00000-of-00001 (the tensors' bytes back to back, no padding).
 *
 * The writer streams: each added tensor goes straight to the data file (under a
 * temporary name) with its CRC computed on the way; finish writes the sorted index
 * and renames both files into place (fsync'ed), so a crash or error never leaves a
 * half-written checkpoint under the final names. The reader checks every size,
 * offset and CRC, and checks sizes against the data file before allocating. */
#ifndef TFM_IO_BUNDLE_H
#define TFM_IO_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"

/* "P.index" / "P.data-SSSSS-of-NNNNN" into a new mem_alloc'ed string (NULL on OOM). */
char *bundle_index_path(const char *prefix);
char *bundle_data_path(const char *prefix, int shard, int num_shards);
/* Whether `rest` (len bytes) is what follows a prefix in a bundle file's name:
 * ".index" or ".data-SSSSS-of-NNNNN" (5 digits each, as bundle_data_path writes). */
bool bundle_file_suffix(const char *rest, size_t len);
/* Removes the stale temporaries of this prefix's own files ("P.index.tmpXXXXXX",
 * "P.data-SSSSS-of-NNNNN.tmpXXXXXX"; rules in io/file.h), as the SaveV2 op does
 * before writing. Never fails; returns how many were removed. */
int bundle_sweep_stale_tmps(const char *prefix);

/* ---- writer ---- */
typedef struct bundle_writer bundle_writer_t;

/* Starts a bundle at `prefix` (its directory must exist). Creates the temporary
 * data file now. Errors: NOT_FOUND / PERMISSION_DENIED ... naming the file. */
bundle_writer_t *bundle_writer_new(const char *prefix, tfm_status *st);
/* Appends tensor t under `key` (non-empty, unique; any order: the index is
 * sorted at finish). Supported dtypes: float32/64, int32/64, uint8, bool, string.
 * The tensor is written out before returning; the caller keeps its reference. */
tfm_code bundle_writer_add(bundle_writer_t *w, const char *key, const tensor_t *t,
                           tfm_status *st);
/* Writes the index and moves both files to their final names. After an error
 * (here or in an add) the temporaries are removed and existing files untouched. */
tfm_code bundle_writer_finish(bundle_writer_t *w, tfm_status *st);
/* Frees the writer; removes the temporaries if finish did not succeed. */
void bundle_writer_free(bundle_writer_t *w);

/* ---- reader ---- */
typedef struct bundle_reader bundle_reader_t;

typedef struct bundle_entry {
  tfm_dtype dtype;
  shape_t shape;
  int shard_id;
  uint64_t offset, size; /* bytes in the data file */
  uint32_t crc32c;       /* unmasked CRC of those bytes */
} bundle_entry_t;

/* Opens P.index and checks the header. NOT_FOUND if P.index is absent;
 * DATA_LOSS for corrupt files; UNIMPLEMENTED for big-endian or V1 checkpoints. */
bundle_reader_t *bundle_reader_open(const char *prefix, tfm_status *st);
void bundle_reader_close(bundle_reader_t *r);
const char *bundle_reader_prefix(const bundle_reader_t *r);
/* Tensor keys in sorted order (the header entry excluded). */
size_t bundle_reader_num_tensors(const bundle_reader_t *r);
const char *bundle_reader_key(const bundle_reader_t *r, size_t i);
/* The entry of `key`: NOT_FOUND naming key and checkpoint; DATA_LOSS if corrupt;
 * UNIMPLEMENTED for partitioned (sliced) variables and unsupported dtypes. */
tfm_code bundle_reader_lookup(bundle_reader_t *r, const char *key, bundle_entry_t *e,
                              tfm_status *st);
/* Reads tensor `key` into a new tensor (caller owns the reference), verifying
 * size and CRC. Errors as lookup, plus DATA_LOSS for short files/bad CRCs. */
tensor_t *bundle_reader_read(bundle_reader_t *r, const char *key, tfm_status *st);
/* For restoring into existing storage without a second copy (non-string entries
 * only; `e` from bundle_reader_lookup of `key`): verify reads the entry's bytes in
 * bounded chunks and checks its CRC (nothing kept); read_into reads them into
 * dst (e->size bytes) and checks the CRC. DATA_LOSS naming file and tensor on a
 * short file or a CRC mismatch (dst then holds the bytes read). */
tfm_code bundle_reader_verify(bundle_reader_t *r, const char *key, const bundle_entry_t *e,
                              tfm_status *st);
tfm_code bundle_reader_read_into(bundle_reader_t *r, const char *key, const bundle_entry_t *e,
                                 void *dst, tfm_status *st);

/* ---- merging (MergeV2Checkpoints) ---- */
/* Joins the single-shard bundles at srcs[0..n-1] into one bundle at `dest` with n
 * shards: data files are renamed to dest.data-0000i-of-0000n, the merged index is
 * written atomically last, the source indexes are removed and, when
 * delete_old_dirs, their directories too if empty. Errors: NOT_FOUND (a source),
 * INVALID_ARGUMENT (a key in two sources), UNIMPLEMENTED (a source with several
 * shards), DATA_LOSS, I/O errors naming the file. */
tfm_code bundle_merge(const char *const *srcs, int n, const char *dest, bool delete_old_dirs,
                      tfm_status *st);

#endif
