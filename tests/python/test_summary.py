"""tf.summary and event files from Python: what FileWriter writes reads back through
our reader and through an independent pure-Python TFRecord/protobuf decoder written
here from the format (formats.md 3.9); the real TF 1.3 file reads; truncation and
corruption behave as documented; histograms match a hand computation; DOT renders."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import tfmini as tf
from tfmini import errors

SHARED = os.environ.get("TFM_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
REAL = os.path.join(SHARED, "testdata", "tf", "events_tf1.3", "events.out.tfevents.1525783349.santo")


# ---- an independent decoder (no library code) ----
def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data):
    c = _crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _records(blob):
    """[(offset, data)] with both CRCs checked."""
    out, pos = [], 0
    while pos < len(blob):
        head = blob[pos:pos + 8]
        (n,) = struct.unpack("<Q", head)
        assert struct.unpack("<I", blob[pos + 8:pos + 12])[0] == _masked(head)
        data = blob[pos + 12:pos + 12 + n]
        assert struct.unpack("<I", blob[pos + 12 + n:pos + 16 + n])[0] == _masked(data)
        out.append((pos, data))
        pos += 16 + n
    return out


def _varint(b, i):
    v = shift = 0
    while True:
        v |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return v, i


def _fields(b):
    """{field: [value]} of a message (varints as int, fixed as bytes, len as bytes)."""
    out, i = {}, 0
    while i < len(b):
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _varint(b, i)
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        else:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        out.setdefault(f, []).append(v)
    return out


def _only_file(logdir):
    files = [f for f in os.listdir(logdir) if "tfevents" in f]
    assert len(files) == 1, files
    return os.path.join(logdir, files[0])


# ---- FileWriter ----
def test_file_writer_writes_tf_layout_read_back_independently(tmp_path):
    logdir = tmp_path / "run1"
    before = int(time.time())
    with tf.summary.FileWriter(str(logdir)) as w:
        for step in range(5):
            w.add_scalar("loss", 1.0 / (step + 1), global_step=step)
    path = _only_file(logdir)
    name = os.path.basename(path)
    prefix, stamp, host = name[:20], name[20:30], name[31:]
    assert prefix == "events.out.tfevents." and stamp.isdigit() and host == socket.gethostname()
    assert before <= int(stamp) <= time.time()
    recs = _records(open(path, "rb").read())
    assert len(recs) == 6
    first = _fields(recs[0][1])
    assert first[3] == [b"brain.Event:2"]
    assert struct.unpack("<d", first[1][0])[0] == float(int(stamp))
    for step, (_, data) in enumerate(recs[1:]):
        ev = _fields(data)
        assert ev.get(2, [0])[0] == step
        value = _fields(_fields(ev[5][0])[1][0])
        assert value[1] == [b"loss"]
        assert struct.unpack("<f", value[2][0])[0] == np.float32(1.0 / (step + 1))


@pytest.mark.skipif(not os.path.exists(REAL), reason="shared TF test data absent")
def test_same_framing_and_first_record_as_real_tf_file(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as w:
        path = w.path
    mine = open(path, "rb").read()
    real = open(REAL, "rb").read()
    assert mine[:13] == real[:13]           # length 24, its masked CRC, field 1 key
    assert mine[21:36] == real[21:36]       # 1a 0d "brain.Event:2"
    events = tf.summary.read_events(REAL)
    assert [e.what for e in events] == ["file_version", "graph_def", "meta_graph_def"]
    assert events[0].file_version == "brain.Event:2" and events[0].wall_time == 1525783349.0
    assert len(events[1].graph_def) == 804 and len(events[2].meta_graph_def) == 1219
    assert [e.offset for e in events] == [0, 40, 872]
    # Graph events copy through a FileWriter byte for byte (as payloads).
    with tf.summary.FileWriter(str(tmp_path / "copy")) as w:
        w.add_graph(None, graph_def=events[1].graph_def)
        w.add_meta_graph(events[2].meta_graph_def)
    again = tf.summary.read_events(w.path)
    assert again[1].graph_def == events[1].graph_def and again[2].meta_graph_def == events[2].meta_graph_def


def test_summary_ops_through_session_and_writer(tmp_path):
    x = tf.placeholder(tf.float32, [None])
    loss = tf.reduce_mean(tf.square(x), name="mse")
    s1 = tf.summary.scalar("loss", loss)
    h = tf.summary.histogram("x", x)
    merged = tf.summary.merge_all()
    assert s1.op.name == "loss" and s1.op.type == "ScalarSummary"
    assert h.op.type == "HistogramSummary"
    assert merged.op.name == "Merge/MergeSummary"
    assert tf.get_collection(tf.GraphKeys.SUMMARIES) == [s1, h]
    values = [np.array([1.0, -2.0, 0.5], np.float32), np.array([3.0, 0.0], np.float32)]
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as w:
        for step, v in enumerate(values):
            out = sess.run(merged, {x: v})
            assert isinstance(out, bytes)
            w.add_summary(out, global_step=step * 10)
    events = tf.summary.read_events(w.path)
    assert len(events) == 3
    for step, (ev, v) in enumerate(zip(events[1:], values)):
        assert ev.step == step * 10 and ev.HasField("summary")
        tags = [val.tag for val in ev.summary.value]
        assert tags == ["loss", "x"]
        assert ev.summary.value[0].simple_value == pytest.approx(float(np.mean(v.astype(np.float64) ** 2)), rel=1e-6)
        histo = ev.summary.value[1].histo
        assert histo.num == len(v) and histo.min == v.min() and histo.max == v.max()
        assert histo.sum == pytest.approx(float(v.sum())) and sum(histo.bucket) == len(v)


def _hand_histogram(values):
    """TF's default limits from their definition, bucketed by counting."""
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos.append(sys.float_info.max)
    limits = [-p for p in reversed(pos)] + [0.0] + pos
    counts = [0] * len(limits)
    for x in values:
        i = next(k for k, lim in enumerate(limits) if x < lim)
        counts[i] += 1
    # Runs of empty buckets collapse into their last limit.
    out_l, out_c, i = [], [], 0
    while i < len(limits):
        end, c = limits[i], counts[i]
        i += 1
        if c == 0:
            while i < len(limits) and counts[i] == 0:
                end = limits[i]
                i += 1
        out_l.append(end)
        out_c.append(c)
    return out_l, out_c


def test_histogram_matches_hand_computation(tmp_path):
    data = [-3.5, -1.0, 0.0, 1e-13, 0.25, 0.25, 7.0, 1e6]
    values = tf.constant(np.array(data, np.float64))
    h = tf.summary.histogram("weights", values)
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as w:
        w.add_summary(sess.run(h), 1)
        w.add_histogram("direct", data, 2)
    events = tf.summary.read_events(w.path)
    want_l, want_c = _hand_histogram(data)
    for ev in events[1:]:
        histo = ev.summary.value[0].histo
        assert histo.bucket_limit == want_l and histo.bucket == want_c
        assert (histo.min, histo.max, histo.num) == (-3.5, 1e6, 8)
        assert histo.sum == pytest.approx(sum(data)) and histo.sum_squares == pytest.approx(sum(x * x for x in data))


def test_truncated_tail_is_ignored_and_corruption_is_data_loss(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as w:
        for i in range(4):
            w.add_scalar("a", i, i)
    blob = open(w.path, "rb").read()
    offsets = [e.offset for e in tf.summary.read_events(w.path)]
    assert len(offsets) == 5
    cut = w.path + ".cut"
    for end in range(offsets[-1] + 1, len(blob)):
        open(cut, "wb").write(blob[:end])
        assert [e.step for e in tf.summary.read_events(cut)] == [0, 0, 1, 2]
    bad = bytearray(blob)
    bad[offsets[2] + 14] ^= 0x01  # a data byte of record 2
    open(cut, "wb").write(bytes(bad))
    with pytest.raises(errors.DataLossError) as e:
        tf.summary.read_events(cut)
    assert cut in str(e.value) and "offset %d" % offsets[2] in str(e.value)


def test_writer_flushes_by_period_and_on_close(tmp_path):
    w = tf.summary.FileWriter(str(tmp_path), max_queue=1000, flush_secs=0.2)
    w.add_scalar("a", 1.0, 1)
    deadline = time.time() + 5
    while len(tf.summary.read_events(w.path)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(tf.summary.read_events(w.path)) == 2
    w.close()
    with pytest.raises(errors.FailedPreconditionError):
        w.add_scalar("a", 2.0, 2)


def test_writer_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(errors.OpError) as e:
        tf.summary.FileWriter(str(blocker))
    assert str(blocker) in str(e.value)
    with tf.summary.FileWriter(str(tmp_path / "ok")) as w:
        with pytest.raises(errors.InvalidArgumentError):
            w.add_summary(b"\x0f\xff")
        with pytest.raises(TypeError):
            w.add_summary("not bytes")
    with pytest.raises(errors.NotFoundError):
        tf.summary.read_events(str(tmp_path / "absent"))


def test_add_graph_decodes(tmp_path):
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    tf.square(x, name="y")
    w = tf.summary.FileWriter(str(tmp_path), tf.get_default_graph())
    w.close()
    events = tf.summary.read_events(w.path)
    # As TF's FileWriter(logdir, graph): file version, graph, meta graph.
    assert [e.what for e in events] == ["file_version", "graph_def", "meta_graph_def"]
    meta = _fields(events[2].meta_graph_def)
    assert [_fields(n)[1][0] for n in _fields(meta[2][0])[1]] == [b"x", b"y"]  # MetaGraphDef.graph_def.node
    ev = events[1]
    nodes = _fields(ev.graph_def)[1]
    names = [_fields(n)[1][0] for n in nodes]
    assert names == [b"x", b"y"]
    for n in nodes:
        attrs = [_fields(a)[1][0] for a in _fields(n).get(5, [])]
        assert b"_output_shapes" in attrs


def test_summary_in_a_name_scope_is_tagged_with_the_scope():
    with tf.name_scope("train"):
        s = tf.summary.scalar("loss", tf.constant(2.5))
    s2 = tf.summary.scalar("loss", tf.constant(1.5))
    assert s.op.name == "train/loss" and s2.op.name == "loss"
    with tf.Session() as sess:
        out = sess.run(tf.summary.merge_all())
    values = _fields(out)[1]
    assert [_fields(v)[1][0] for v in values] == [b"train/loss", b"loss"]
    assert [struct.unpack("<f", _fields(v)[2][0])[0] for v in values] == [2.5, 1.5]


def test_merge_duplicate_tag_fails_naming_it():
    c = tf.constant(1.0)
    s = tf.summary.scalar("same", c)
    m = tf.summary.merge([s, s])
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError) as e:
            sess.run(m)
    assert "same" in str(e.value)
    assert tf.summary.merge_all("nothing_here") is None


def test_graph_to_dot_renders(tmp_path):
    x = tf.placeholder(tf.float32, [None], name="x")
    with tf.name_scope("model"):
        m = tf.Variable(0.5, name="m")
        y = m * x
    tf.reduce_sum(y, name="loss")
    dot = tf.get_default_graph().to_dot()
    assert dot.startswith("digraph") and 'subgraph "cluster_model"' in dot
    assert '"model/m" [label="m\\nVariableV2' in dot and '"x" [label="x\\nPlaceholder' in dot
    if shutil.which("dot"):
        src = tmp_path / "g.dot"
        src.write_text(dot)
        subprocess.run(["dot", "-Tsvg", str(src), "-o", str(tmp_path / "g.svg")], check=True)
        assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")


def test_progress_line_in_place_on_tty_quiet_otherwise():
    import io
    from tfmini.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    p = Progress(100, stream=out, min_interval=0)
    for step in range(1, 101):
        p.update(step, loss=1.0 / step)
    p.close()
    text = out.getvalue()
    assert text.count("\r") >= 100 and text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert "100/100" in last and "loss 0.01" in last and "steps/s" in last and "ETA" in last
    quiet = io.StringIO()
    p = Progress(100, stream=quiet, min_interval=0)
    for step in range(1, 101):
        p.update(step, loss=1.0)
    p.close()
    assert quiet.getvalue() == ""


def _examples_dir():
    lib = os.environ.get("TFMINI_LIBRARY", "")
    return os.path.join(os.path.dirname(os.path.dirname(lib)), "examples")


def _check_loss_curve(logdir, steps):
    events = tf.summary.read_events(_only_file(logdir))
    assert events[1].what == "graph_def"
    curve = tf.summary.scalars(_only_file(logdir), "loss")
    assert [s for s, _, _ in curve] == list(range(0, steps, 100))
    # Falls from the start (~50) to near the noise floor 8 * 0.25^2 = 0.5.
    assert curve[0][2] > 10 and np.mean([v for _, _, v in curve[-10:]]) < 2


def test_c_bigdata_writes_its_loss_curve(tmp_path):
    exe = os.path.join(_examples_dir(), "bigdata")
    if not os.path.exists(exe):
        pytest.skip("examples not built at %s" % exe)
    out = subprocess.run([exe, "--steps", "3000", "--points", "100000", "--logdir", str(tmp_path)],
                         capture_output=True, text=True, check=True)
    assert "\r" not in out.stderr  # no progress line when stderr is not a terminal
    _check_loss_curve(tmp_path, 3000)


def test_python_bigdata_writes_its_loss_curve(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python", "bigdata.py")
    out = subprocess.run([sys.executable, script, "3000", "--logdir", str(tmp_path)], capture_output=True,
                         text=True, check=True, env=dict(os.environ))
    assert "Slope" in out.stdout and "\r" not in out.stderr
    _check_loss_curve(tmp_path, 3000)


def test_run_steps_logs_the_curve_and_returns_the_loss(tmp_path):
    x = tf.placeholder(tf.float32, [4])
    w = tf.Variable(0.0)
    loss = tf.reduce_sum(tf.square(x - w))
    train = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    data = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        sess.run(tf.global_variables_initializer())
        last = tf.train.run_steps(sess, train, 250, loss=loss, feed_fn=lambda step: {x: data}, writer=writer,
                                  log_every=50)
        w_final = sess.run(w)
    # Gradient descent on sum((x - w)^2): w -> mean(x) = 2.5; the loss -> sum((x - 2.5)^2) = 5.
    assert w_final == pytest.approx(2.5, abs=1e-4)
    curve = tf.summary.scalars(writer.path, "loss")
    assert [s for s, _, _ in curve] == [0, 50, 100, 150, 200]
    assert curve[0][2] == pytest.approx(30.0)  # sum(x^2) at w = 0, before the first update
    assert curve[-1][2] == pytest.approx(5.0, abs=1e-3) and last == pytest.approx(5.0, abs=1e-3)
