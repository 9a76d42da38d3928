/* libtfmini: the TensorFlow 1.x programming model as a C library.
 * Include this umbrella header; see defs.h for the API's conventions. */
#ifndef TFMINI_TFMINI_H
#define TFMINI_TFMINI_H

#include "tfmini/version.h"
#include "defs.h"
#include "status.h"
#include "tensor.h"
#include "graph.h"
#include "ops.h"
#include "session.h"
#include "train.h"
#include "io.h"
#include "summary.h"

#endif
