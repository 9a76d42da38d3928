"""tf.train.Saver through the bindings: round trips, max_to_keep, latest_checkpoint,
restore errors (each checked against values and file names worked out by hand)."""
import os

import numpy as np
import pytest

import tfmini as tf
from conftest import RUN, need

SAVER_FNS = ("tfm_variable_new", "tfm_assign", "tfm_saver_new", "tfm_saver_save", "tfm_saver_restore",
             "tfm_latest_checkpoint")


@need(RUN, *SAVER_FNS)
def test_save_and_restore_round_trip(tmp_path):
    v = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="v")
    saver = tf.train.Saver()
    prefix = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        sess.run(v.initializer)
        path = saver.save(sess, prefix, global_step=7)
        assert path == prefix + "-7" and os.path.exists(path + ".index") and os.path.exists(path + ".meta")
        sess.run(tf.assign(v, np.zeros((2, 3), np.float32)))
        saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
        assert np.array_equal(sess.run(v), np.arange(6).reshape(2, 3))


@need(RUN, *SAVER_FNS)
def test_global_step_may_be_a_numpy_integer_or_a_variable(tmp_path):
    v = tf.Variable(1.0, name="v")
    step = tf.train.get_or_create_global_step()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, str(tmp_path / "m"), global_step=np.int64(3),
                          write_meta_graph=False).endswith("m-3")
        assert saver.save(sess, str(tmp_path / "m"), global_step=step,
                          write_meta_graph=False).endswith("m-0")
    assert v is not None


@need(RUN, *SAVER_FNS)
def test_max_to_keep_deletes_the_oldest(tmp_path):
    v = tf.Variable([1.0, 2.0], name="v")
    saver = tf.train.Saver(max_to_keep=2)
    prefix = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        sess.run(v.initializer)
        for step in (10, 20, 30):
            saver.save(sess, prefix, global_step=step, write_meta_graph=False)
    names = sorted(os.listdir(str(tmp_path)))
    assert names == ["checkpoint",
                     "model.ckpt-20.data-00000-of-00001", "model.ckpt-20.index",
                     "model.ckpt-30.data-00000-of-00001", "model.ckpt-30.index"]
    text = open(str(tmp_path / "checkpoint")).read()
    assert 'model_checkpoint_path: "model.ckpt-30"' in text
    assert text.count("all_model_checkpoint_paths:") == 2
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix + "-30"


@need(RUN, *SAVER_FNS)
def test_max_to_keep_none_keeps_everything(tmp_path):
    v = tf.Variable(1.0, name="v")
    saver = tf.train.Saver(max_to_keep=None)
    with tf.Session() as sess:
        sess.run(v.initializer)
        for step in range(7):
            saver.save(sess, str(tmp_path / "m"), global_step=step, write_meta_graph=False)
    assert sum(n.endswith(".index") for n in os.listdir(str(tmp_path))) == 7


@need(RUN, "tfm_latest_checkpoint")
def test_latest_checkpoint_is_none_without_checkpoints(tmp_path):
    assert tf.train.latest_checkpoint(str(tmp_path)) is None
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "gone-5"\n')
    assert tf.train.latest_checkpoint(str(tmp_path)) is None  # names a checkpoint that is not there


@need(RUN, *SAVER_FNS)
def test_restore_errors_name_the_variable(tmp_path):
    a = tf.Variable(np.ones((2, 2), np.float32), name="a")
    saver = tf.train.Saver([a])
    prefix = str(tmp_path / "only_a")
    with tf.Session() as sess:
        sess.run(a.initializer)
        saver.save(sess, prefix, write_meta_graph=False)
    tf.reset_default_graph()
    a = tf.Variable(np.ones((3,), np.float32), name="a")
    b = tf.Variable(0, name="b")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"'a'.*\[3\].*\[2,2\]"):
            tf.train.Saver([a]).restore(sess, prefix)
        with pytest.raises(tf.errors.NotFoundError, match="'b'"):
            tf.train.Saver([b]).restore(sess, prefix)
        with pytest.raises(tf.errors.NotFoundError, match="nowhere"):
            tf.train.Saver([b]).restore(sess, str(tmp_path / "nowhere"))


@need(RUN, *SAVER_FNS)
def test_corrupt_checkpoint_is_data_loss_and_changes_nothing(tmp_path):
    a = tf.Variable([1.0, 2.0], name="a")
    b = tf.Variable([3.0, 4.0], name="b")
    saver = tf.train.Saver()
    prefix = str(tmp_path / "m")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, prefix, write_meta_graph=False)
        data = prefix + ".data-00000-of-00001"
        raw = bytearray(open(data, "rb").read())
        raw[-1] ^= 0x40  # the last byte of "b", restored after "a"
        open(data, "wb").write(bytes(raw))
        sess.run([tf.assign(a, [0.0, 0.0]), tf.assign(b, [0.0, 0.0])])
        with pytest.raises(tf.errors.DataLossError, match="'b'"):
            saver.restore(sess, prefix)
        assert sess.run(a).tolist() == [0.0, 0.0]  # not half restored
