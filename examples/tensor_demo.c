/* A first look at the tensor engine: make tensors, wrap a buffer, read dims. */
#include <stdio.h>
#include <stdlib.h>

#include <tfmini/tfmini.h>

int main(void) {
  tfm_status *st = tfm_status_new();
  printf("libtfmini %s, %d kernel threads\n", tfm_version(), tfm_get_num_threads());
  float data[6] = {1, 2, 3, 4, 5, 6};
  int64_t dims[2] = {2, 3};
  tfm_tensor *t = tfm_tensor_wrap(TFM_FLOAT, dims, 2, data, sizeof data, NULL, NULL, st);
  if (!t) {
    fprintf(stderr, "%s\n", tfm_status_message(st));
    return EXIT_FAILURE;
  }
  printf("a %s tensor of shape [%lld,%lld] with %lld elements\n", tfm_dtype_name(tfm_tensor_dtype(t)),
         (long long)tfm_tensor_dim(t, 0), (long long)tfm_tensor_dim(t, 1),
         (long long)tfm_tensor_num_elements(t));
  int64_t bad[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  if (!tfm_tensor_new(TFM_FLOAT, bad, 9, st))
    printf("rank 9 refused: %s: %s\n", tfm_code_name(tfm_status_code(st)), tfm_status_message(st));
  tfm_tensor_release(t);
  tfm_status_delete(st);
  return EXIT_SUCCESS;
}
