"""Training throughput of the real pipeline (make_dataset + build_model + compile_model)."""

from __future__ import annotations

import time
import warnings

import numpy as np

from bench.common import TRAINING_IMAGES


class _BatchClock:
    """Records the time each training batch ends."""

    def __init__(self):
        import keras

        class Clock(keras.callbacks.Callback):
            def __init__(self, ends):
                super().__init__()
                self.ends = ends

            def on_train_batch_end(self, batch, logs=None):
                self.ends.append(time.perf_counter())

        self.ends: list[float] = []
        self.callback = Clock(self.ends)


def train_throughput(train_split, precision: str, jit: bool, batch_size: int, warmup: int, batches: int) -> dict:
    """images/s over ``batches`` batches after ``warmup`` batches, in one ``fit`` call (no re-tracing)."""
    import keras

    from core.labels import FER2013
    from core.model.architecture import build_model
    from core.model.targets import one_hot
    from core.model.training import TrainConfig, compile_model, make_dataset

    config = TrainConfig(mixed_precision=precision == "mixed_bfloat16", batch_size=batch_size)
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(precision)
    try:
        dataset = make_dataset(train_split.images, one_hot(train_split.labels, FER2013), config, training=True)
        steps = int(np.ceil(len(train_split) / config.batch_size))
        model = build_model(filters=tuple(config.filters))
        compile_model(model, config, steps)
        model.jit_compile = jit
        clock = _BatchClock()
        start = time.perf_counter()
        with warnings.catch_warnings():  # Keras warns that shuffle=True is ignored for a tf.data input
            warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
            model.fit(dataset, epochs=1, steps_per_epoch=warmup + batches, callbacks=[clock.callback], verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    ends = clock.ends
    took = ends[-1] - ends[warmup - 1]
    images = batches * config.batch_size
    rate = images / took
    return {
        "precision": precision,
        "jit_compile": bool(model.jit_compile),
        "batch_size": config.batch_size,
        "warmup_batches": warmup,
        "measured_batches": batches,
        "images_per_s": rate,
        "epoch_s_estimate": TRAINING_IMAGES / rate,
        "first_batches_s": ends[warmup - 1] - start,
    }


def input_pipeline_throughput(train_split, warmup: int, batches: int) -> dict:
    """images/s of ``make_dataset`` alone (shuffle, batch, augmentation): the model's upper bound."""
    from core.labels import FER2013
    from core.model.targets import one_hot
    from core.model.training import TrainConfig, make_dataset

    config = TrainConfig()
    iterator = iter(make_dataset(train_split.images, one_hot(train_split.labels, FER2013), config, training=True))
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    took = time.perf_counter() - start
    return {"images_per_s": batches * config.batch_size / took, "measured_batches": batches}


def training_section(
    train_split, variants: list[tuple[str, bool, int]], warmup: int, batches: int, log=print
) -> dict:
    """Each (precision, XLA, batch size) variant's throughput; names say how they differ from the default."""
    from core.model.training import TrainConfig

    report = {
        "train_images": len(train_split),
        "epoch_images": TRAINING_IMAGES,
        "input_pipeline": input_pipeline_throughput(train_split, warmup, batches),
    }
    default_batch = TrainConfig().batch_size
    for precision, jit, batch_size in variants:
        name = precision + ("_xla" if jit else "") + (f"_batch{batch_size}" if batch_size != default_batch else "")
        log(f"  training {name} ...")
        try:
            report[name] = train_throughput(train_split, precision, jit, batch_size, warmup, batches)
        except Exception as error:  # e.g. XLA unsupported: report, keep the other variants
            report[name] = {"status": "error", "error": f"{type(error).__name__}: {error}"[:500]}
    return report
