"""A progress line for training loops: steps, loss, steps/s and ETA, rewritten in
place (carriage return) on a terminal and silent when output goes to a file or a
pipe, so logs stay clean.

    progress = Progress(total_steps)
    for step in range(1, total_steps + 1):
        _, loss = sess.run([train_op, loss_op])
        progress.update(step, loss)
    progress.close()
"""
import sys
import time


def _clock(seconds):
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "%d:%02d:%02d" % (h, m, s) if h else "%d:%02d" % (m, s)


class Progress:
    """update(step, loss) at every step; the line is redrawn at most every
    `min_interval` seconds (and at the last step). `enabled` None: only when
    `stream` is a terminal."""

    def __init__(self, total, stream=None, min_interval=0.1, enabled=None):
        self.total = int(total)
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) if enabled is None else bool(enabled)
        self.min_interval = float(min_interval)
        self.start = time.monotonic()
        self._last_draw = None
        self._width = 0
        self._drawn = False

    def line(self, step, loss=None, now=None):
        """The text of the line for `step` (also for callers that log it elsewhere)."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        rate = step / elapsed
        parts = ["step %d/%d" % (step, self.total)]
        if loss is not None:
            parts.append("loss %.4g" % float(loss))
        parts.append("%.0f steps/s" % rate)
        if step < self.total and rate > 0:
            parts.append("ETA %s" % _clock((self.total - step) / rate))
        else:
            parts.append("ETA 0:00 (took %s)" % _clock(elapsed))
        return "  ".join(parts)

    def due(self, step):
        """Whether update(step) would redraw: fetch the loss only then."""
        if not self.enabled:
            return False
        return (self._last_draw is None or step >= self.total or
                time.monotonic() - self._last_draw >= self.min_interval)

    def update(self, step, loss=None):
        if not self.due(step):
            return
        now = time.monotonic()
        self._last_draw = now
        text = self.line(step, loss, now)
        pad = " " * max(0, self._width - len(text))  # wipe what a longer line left
        self._width = len(text)
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._drawn = True

    def close(self):
        """Ends the line (a newline) if anything was drawn."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
