"""A training loop helper (a tfmini extension; TF 1.x users write this loop by hand
or use MonitoredTrainingSession): runs the train op, logs the loss curve to a
FileWriter, and shows a progress line on terminals."""
from ..progress import Progress


def run_steps(sess, train_op, steps, loss=None, feed_fn=None, writer=None, summary_op=None, log_every=100,
              progress=True, first_step=0):
    """Runs `train_op` `steps` times in `sess`.

    feed_fn(step) -> feed_dict (or None) gives each step's feeds. With `writer` (a
    tf.summary.FileWriter), every `log_every` steps the result of `summary_op` is
    added, or, without one, the value of `loss` as scalar "loss". `progress`: True for
    a progress line on a terminal (silent otherwise), False for none, or a Progress.
    Steps are numbered from `first_step` in the event file. Returns the loss of the
    last step (None without `loss`); the loss is fetched only on the steps that
    need it, so the other steps run at full speed."""
    bar = progress if isinstance(progress, Progress) else Progress(steps, enabled=None if progress else False)
    last = None
    try:
        for i in range(steps):
            feed = feed_fn(first_step + i) if feed_fn else None
            log = writer is not None and i % log_every == 0
            draw = loss is not None and bar.due(i + 1)
            fetches = [train_op]
            if loss is not None and (log or draw or i == steps - 1):
                fetches.append(loss)
            if log and summary_op is not None:
                fetches.append(summary_op)
            out = sess.run(fetches, feed_dict=feed)
            if len(fetches) > 1 and loss is not None:
                last = float(out[1])
            if log:
                if summary_op is not None:
                    writer.add_summary(out[-1], first_step + i)
                elif last is not None:
                    writer.add_scalar("loss", last, first_step + i)
            if draw:
                bar.update(i + 1, last)
    finally:
        bar.close()
    return last
