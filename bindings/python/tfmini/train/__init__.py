"""tf.train: optimizers, the global step, learning-rate schedules, and the Saver hook."""
from .optimizer import (Optimizer, GradientDescentOptimizer, MomentumOptimizer, AdamOptimizer)
from .training_util import (get_or_create_global_step, get_global_step, create_global_step, global_step,
                            exponential_decay, inverse_time_decay)
from .saver import Saver, latest_checkpoint, import_meta_graph, export_meta_graph, write_graph
from ..summary import summary_iterator
from .loop import run_steps
