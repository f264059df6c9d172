"""Where a run trains: the CPU, one GPU, all GPUs of this machine, or several machines.

LayerLab writes no distribution of its own; it picks Keras's engines:

- TensorFlow backend: ``tf.distribute`` -- ``MirroredStrategy`` for all GPUs of one machine,
  ``OneDeviceStrategy`` for one chosen device, ``MultiWorkerMirroredStrategy`` (configured by
  ``TF_CONFIG``) for several processes or machines;
- JAX backend: ``keras.distribution.DataParallel`` over all devices ("all").

The project's ``fit["devices"]`` setting says which (absent or null: Keras's default, the first
GPU if there is one, else the CPU):

    "cpu" | "gpu:0" (any index) | "all" | {"workers": ["host:port", ...], "index": I}

``strategy_for(setting)`` returns a ``Distribution``: ``scope()`` is entered while the model is
built, compiled and trained; ``replicas`` is how many copies share each global batch (the
project's ``batch_size`` is the global batch: each replica gets ``per_replica_batch(batch,
replicas)`` samples per step); ``description`` names the devices for the progress line and
the run record; ``is_chief`` is False only on a multi-worker run's other workers, which must
write nothing into the project.

``available_devices()`` and ``device_choices()`` list what this machine offers (cheap: no
device is initialised); a choice that cannot work here is disabled with the reason.

Importing this module imports neither Keras nor TensorFlow (``engine.project`` validates the
setting with ``check_devices``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from engine.errors import LayerLabError, ProjectError, TrainingError

FIELD = "fit.devices"

# A worker that dies or hangs (killed, SIGSTOPped, cut off) stops sending heartbeats to the
# others' coordination service, which then aborts their collective operations: ~10 s here,
# either way. LAYERLAB_COLLECTIVE_TIMEOUT (seconds) also bounds each collective operation, but
# TensorFlow then runs each one on a thread of its own: steps of 2 local workers took
# 41 ms instead of 31 ms here, so it is off unless asked for.
COLLECTIVE_TIMEOUT_ENV = "LAYERLAB_COLLECTIVE_TIMEOUT"
DEFAULT_COLLECTIVE_TIMEOUT = 0.0

NO_GPU = "No GPU on this machine"
ONE_GPU = "Only one GPU: 'all GPUs' is the same as one"

_WORKER = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


# --- what this machine has ---------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    """One device: ``kind`` "cpu" or "gpu", its ``index`` among its kind, its ``name``."""

    kind: str
    index: int
    name: str

    @property
    def value(self) -> str:
        """The ``fit["devices"]`` value that chooses this device ("cpu", "gpu:0")."""
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    @property
    def label(self) -> str:
        """'CPU', 'GPU 0: NVIDIA H200'."""
        if self.kind == "cpu":
            return "CPU"
        return f"{self.kind.upper()} {self.index}: {self.name}"


@dataclass(frozen=True)
class DeviceChoice:
    """One entry of the window's Devices combo: ``value`` goes into ``fit["devices"]``
    (None: Keras's default); a disabled choice says why in ``reason``; ``replicas``: how
    many devices share each batch."""

    value: Any
    label: str
    enabled: bool = True
    reason: str = ""
    replicas: int = 1


def _backend() -> str:
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    import keras

    return keras.config.backend()


def available_devices(backend: str | None = None) -> list[DeviceInfo]:
    """The CPU and each GPU Keras can use, without initialising any of them."""
    backend = backend or _backend()
    devices = [DeviceInfo("cpu", 0, "CPU")]
    if backend == "tensorflow":
        import tensorflow as tf

        from engine.quiet import silenced_stderr

        with silenced_stderr():  # "failed call to cuInit" on machines without a GPU
            gpus = tf.config.list_physical_devices("GPU")
        for index, gpu in enumerate(gpus):
            try:
                details = tf.config.experimental.get_device_details(gpu)
            except (RuntimeError, ValueError):
                details = {}
            devices.append(DeviceInfo("gpu", index, details.get("device_name", gpu.name)))
    elif backend == "jax":
        import jax

        accelerators = [device for device in jax.devices() if device.platform != "cpu"]
        for index, device in enumerate(accelerators):
            devices.append(DeviceInfo("gpu", index, str(device.device_kind)))
    return devices


def device_choices(devices: list[DeviceInfo] | None = None) -> list[DeviceChoice]:
    """The window's Devices choices: default, CPU, each GPU, all GPUs (disabled with the
    reason where this machine cannot do it)."""
    devices = available_devices() if devices is None else devices
    gpus = [device for device in devices if device.kind == "gpu"]
    default_where = gpus[0].label if gpus else "CPU"
    choices = [
        DeviceChoice(None, f"Default ({default_where})"),
        DeviceChoice("cpu", "CPU"),
    ]
    if gpus:
        choices += [DeviceChoice(gpu.value, gpu.label) for gpu in gpus]
    else:
        choices.append(DeviceChoice("gpu:0", "GPU", enabled=False, reason=NO_GPU))
    all_label = f"All GPUs ({len(gpus)})" if len(gpus) > 1 else "All GPUs"
    if not gpus:
        choices.append(DeviceChoice("all", all_label, enabled=False, reason=NO_GPU))
    elif len(gpus) == 1:
        choices.append(DeviceChoice("all", all_label, enabled=False, reason=ONE_GPU))
    else:
        choices.append(DeviceChoice("all", all_label, replicas=len(gpus)))
    return choices


# --- the setting -------------------------------------------------------------------------


def parse_workers(text: Any, *, field: str = "--workers") -> list[str]:
    """``"host1:port,host2:port"`` (or a list) as a checked list of addresses."""
    items = text.split(",") if isinstance(text, str) else text
    if not isinstance(items, list | tuple):
        raise LayerLabError(f"{field} must list the workers as host:port, got {text!r}.")
    workers = [item.strip() if isinstance(item, str) else item for item in items]
    if not workers or workers == [""]:
        raise LayerLabError(f"{field} needs at least one worker as host:port.")
    for worker in workers:
        match = _WORKER.match(worker) if isinstance(worker, str) else None
        if match is None or not 0 < int(match.group("port")) < 65536:
            raise LayerLabError(
                f"{field}: {worker!r} is not a worker address.",
                fix="Write each worker as host:port, e.g. 10.0.0.5:12345.",
            )
    if len(set(workers)) != len(workers):
        raise LayerLabError(f"{field} names a worker twice: each needs its own host:port.")
    return workers


def check_devices(setting: Any, *, field: str = FIELD) -> Any:
    """``setting`` normalised ("GPU:0" -> "gpu:0"), or ``ProjectError`` naming the problem.
    Checks the form only: whether this machine has the device is ``strategy_for``'s job."""
    if setting is None:
        return None
    if isinstance(setting, str):
        value = setting.strip().lower()
        if value in ("cpu", "all"):
            return value
        match = re.fullmatch(r"gpu(?::(\d+))?", value)
        if match:
            return f"gpu:{int(match.group(1) or 0)}"
    elif isinstance(setting, dict) and set(setting) == {"local_workers"}:
        count = setting["local_workers"]  # the window's local run: engine.local_workers
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
            raise ProjectError(
                f"{field}.local_workers must be a number of workers from 1 to 64, got {count!r}.",
                field=field,
            )
        return {"local_workers": count}
    elif isinstance(setting, dict) and set(setting) <= {"workers", "index"}:
        try:
            workers = parse_workers(setting.get("workers"), field=f"{field}.workers")
        except LayerLabError as error:
            raise ProjectError(error.message, field=field, fix=error.fix) from None
        index = setting.get("index", 0)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(workers):
            raise ProjectError(
                f"{field}.index must be a worker's position in the list, 0 to "
                f"{len(workers) - 1}, got {index!r}.",
                field=field,
            )
        return {"workers": workers, "index": index}
    raise ProjectError(
        f'{field} must be "cpu", "gpu:N", "all", {{"workers": [...], "index": I}} or null, '
        f"got {setting!r}.",
        field=field,
    )


def tf_config_setting(environ=None) -> dict | None:
    """The ``{"workers", "index"}`` setting that ``TF_CONFIG`` describes, or None when it is
    unset. A "chief" task counts as worker 0, the "worker" tasks follow."""
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    fix = (
        'Set it to {"cluster": {"worker": ["host1:port", "host2:port"]}, '
        '"task": {"type": "worker", "index": 0}}, or unset it and use --workers.'
    )
    try:
        config = json.loads(text)
        cluster = config["cluster"]
        task = config["task"]
        chief = list(cluster.get("chief") or [])
        workers = chief + list(cluster.get("worker") or [])
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LayerLabError("The environment variable TF_CONFIG is not valid.", fix=fix) from None
    if kind == "chief":
        position = index
    elif kind == "worker":
        position = index + len(chief)
    else:
        raise LayerLabError(
            f"TF_CONFIG's task type {kind!r} is not one LayerLab runs (chief or worker).", fix=fix
        )
    try:
        return check_devices({"workers": workers, "index": position}, field="TF_CONFIG")
    except LayerLabError as error:
        raise LayerLabError(f"{error.message}", fix=fix) from None


def per_replica_batch(global_batch: int, replicas: int) -> int:
    """Samples each replica gets per step (the smaller share when it does not divide)."""
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, got {replicas}")
    return global_batch // replicas


def per_replica_text(global_batch: int, replicas: int) -> str:
    """'per replica: 32' (or '16-17' when the global batch does not divide evenly); '' for
    one replica."""
    if replicas <= 1:
        return ""
    low = per_replica_batch(global_batch, replicas)
    high = math.ceil(global_batch / replicas)
    return f"per replica: {low}" if low == high else f"per replica: {low}–{high}"


# --- the strategy ------------------------------------------------------------------------


@dataclass
class Distribution:
    """How one run is spread (see the module docstring). ``kind``: "default", "one"
    (one chosen device), "mirrored" (all GPUs), "multi_worker" or "data_parallel" (JAX)."""

    setting: Any
    kind: str
    backend: str
    replicas: int = 1
    description: str = ""
    devices: tuple[str, ...] = ()
    workers: list[str] = field(default_factory=list)
    index: int = 0
    _strategy: Any = None

    @property
    def is_chief(self) -> bool:
        return self.kind != "multi_worker" or self.index == 0

    @property
    def is_multi_worker(self) -> bool:
        return self.kind == "multi_worker"

    @property
    def strategy(self):
        """The ``tf.distribute`` strategy or ``keras.distribution`` object (None: default)."""
        if self._strategy is None and self.kind != "default":
            self._strategy = _make_strategy(self)
        return self._strategy

    def join(self) -> None:
        """Make the strategy now: a multi-worker one joins the other workers (TensorFlow
        needs this before it runs anything else in the process)."""
        _ = self.strategy

    def scope(self):
        """A context manager: build, compile and train the model inside it."""
        if self.kind == "default":
            return contextlib.nullcontext()
        if self.kind == "one" and self.backend == "jax":
            return _jax_device_scope(self.devices[0])
        return self.strategy.scope()

    def check_batch(self, batch_size: int) -> None:
        """Refuse a global batch smaller than the number of replicas."""
        if batch_size < self.replicas:
            raise TrainingError(
                f"The batch size {batch_size} is smaller than the {self.replicas} replicas "
                f"that share it ({self.description}): each needs at least one sample.",
                field="fit.batch_size",
                fix=f"Use a batch size of at least {self.replicas}.",
            )

    def prepare_model(self, model) -> None:
        """Work around Keras 3's multi-worker gaps on a model built in ``scope()``."""
        if self.kind == "multi_worker":
            _fix_multi_worker_model(model, self.strategy)

    def failure_message(self, error: BaseException) -> str | None:
        """A plain sentence when ``error`` comes from the distribution (another worker is
        gone; a batch that does not split over the devices), else None."""
        if self.kind == "data_parallel" and "evenly divide" in str(error):
            match = re.search(r"full shape: \((\d+)", str(error))
            size = f" of {match.group(1)} samples" if match else ""
            return (
                f"A batch{size} cannot be split evenly over the {self.replicas} devices "
                "(DataParallel gives each the same share). Use a batch size and data sizes "
                f"that divide by {self.replicas}, or train on one device."
            )
        if self.kind != "multi_worker":
            return None
        return worker_failure_message(error, self.workers, self.index)


def strategy_for(setting: Any, backend: str | None = None, *, devices=None) -> Distribution:
    """The ``Distribution`` for a ``fit["devices"]`` setting on this machine.

    Raises ``LayerLabError`` (never a TensorFlow error) when the setting asks for something
    this machine does not have, such as a GPU on a machine without one. ``devices``: the
    machine's devices (default ``available_devices()``; tests pass their own). The strategy
    itself is made on first use of ``scope()``/``strategy``.
    """
    backend = backend or _backend()
    setting = check_devices(setting)
    if setting is None:
        return Distribution(None, "default", backend)
    if isinstance(setting, dict) and "local_workers" in setting:
        raise TrainingError(
            f"The project trains on {setting['local_workers']} local workers, which are "
            "started by the window's Train button or by main.py train --local-workers N.",
            field=FIELD,
            fix="Use one of those, or choose another device in the training panel's Devices row.",
        )
    if isinstance(setting, dict):
        return _multi_worker(setting, backend)
    if setting == "all" and backend == "jax" and devices is None:
        import jax

        if len(jax.devices()) > 1:  # GPUs, or CPUs forced by XLA_FLAGS
            return jax_data_parallel()
    devices = available_devices(backend) if devices is None else devices
    gpus = [device for device in devices if device.kind == "gpu"]
    if setting == "cpu":
        if not gpus:  # the default already is the CPU: keep Keras's own path
            return Distribution(setting, "default", backend, description="CPU")
        return Distribution(setting, "one", backend, description="CPU", devices=("/cpu:0",))
    if not gpus:
        what = "all GPUs" if setting == "all" else f"GPU {setting.split(':')[1]}"
        raise TrainingError(
            f"The project trains on {what}, but this machine has no GPU that "
            f"{'TensorFlow' if backend == 'tensorflow' else backend} can use.",
            field=FIELD,
            fix="Choose CPU (or Default) in the training panel's Devices row, or set "
            'fit.devices to "cpu".',
        )
    if setting == "all":
        if len(gpus) == 1:
            return Distribution(setting, "default", backend, description=gpus[0].label)
        names = ", ".join(gpu.label for gpu in gpus)
        if backend == "jax":
            kind, engine_name = "data_parallel", "DataParallel"
        else:
            kind, engine_name = "mirrored", "MirroredStrategy"
        return Distribution(
            setting,
            kind,
            backend,
            replicas=len(gpus),
            description=f"{len(gpus)} GPUs ({engine_name}): {names}",
            devices=tuple(f"/gpu:{gpu.index}" for gpu in gpus),
        )
    index = int(setting.split(":")[1])
    if index >= len(gpus):
        have = ", ".join(gpu.label for gpu in gpus)
        raise TrainingError(
            f"The project trains on GPU {index}, but this machine has {len(gpus)} "
            f"GPU{'s' if len(gpus) != 1 else ''} ({have}).",
            field=FIELD,
            fix="Choose one of them in the training panel's Devices row.",
        )
    if len(gpus) == 1 or backend not in ("tensorflow", "jax"):
        return Distribution(setting, "default", backend, description=gpus[index].label)
    return Distribution(
        setting, "one", backend, description=gpus[index].label, devices=(f"/gpu:{index}",)
    )


def jax_data_parallel(device_count: int | None = None) -> Distribution:
    """DataParallel over JAX's devices (all of them, CPU ones included: with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` the CPU counts N times)."""
    import jax

    devices = jax.devices()[:device_count] if device_count else jax.devices()
    platform = devices[0].platform.upper()
    return Distribution(
        "all",
        "data_parallel",
        "jax",
        replicas=len(devices),
        description=f"{len(devices)} {platform} devices (DataParallel)",
        devices=tuple(str(device) for device in devices),
    )


def _jax_device_scope(name: str):
    """JAX's own way to put everything on one device ("/cpu:0", "/gpu:1")."""
    import jax

    kind, index = name.strip("/").split(":")
    if kind == "cpu":
        device = jax.devices("cpu")[int(index)]
    else:
        device = [d for d in jax.devices() if d.platform != "cpu"][int(index)]
    return jax.default_device(device)


_MULTI_WORKER: dict = {}  # one MultiWorkerMirroredStrategy per process: TensorFlow allows one


def _multi_worker(setting: dict, backend: str) -> Distribution:
    if backend != "tensorflow":
        raise TrainingError(
            f"Training on several workers needs the TensorFlow backend; KERAS_BACKEND is "
            f"{backend!r}.",
            fix="Unset KERAS_BACKEND (or set it to tensorflow) on every worker.",
        )
    workers, index = setting["workers"], setting["index"]
    names = ", ".join(
        f"{address} (chief)" if position == 0 else address
        for position, address in enumerate(workers)
    )
    return Distribution(
        setting,
        "multi_worker",
        backend,
        replicas=len(workers),
        description=f"{len(workers)} workers (MultiWorkerMirroredStrategy): {names}",
        workers=list(workers),
        index=index,
    )


def collective_timeout() -> float | None:
    """Seconds from ``LAYERLAB_COLLECTIVE_TIMEOUT``; None (the default, or 0): no timeout."""
    text = os.environ.get(COLLECTIVE_TIMEOUT_ENV, "").strip()
    try:
        value = float(text) if text else DEFAULT_COLLECTIVE_TIMEOUT
    except ValueError:
        value = DEFAULT_COLLECTIVE_TIMEOUT
    return value if value > 0 else None


def _make_strategy(plan: Distribution):
    if plan.kind == "data_parallel":
        import keras

        if plan.backend == "jax":
            import jax

            wanted = set(plan.devices)
            devices = [device for device in jax.devices() if str(device) in wanted]
            return keras.distribution.DataParallel(devices=devices or None)
        return keras.distribution.DataParallel()
    import tensorflow as tf

    if plan.kind == "one":
        return tf.distribute.OneDeviceStrategy(plan.devices[0])
    if plan.kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(plan.devices))
    key = (tuple(plan.workers), plan.index)
    if key in _MULTI_WORKER:
        return _MULTI_WORKER[key]
    if _MULTI_WORKER:
        raise TrainingError(
            "This process already joined another group of workers: TensorFlow allows one "
            "per process.",
            fix="Start a new process for each multi-worker run.",
        )
    wanted = {"cluster": {"worker": plan.workers}, "task": {"type": "worker", "index": plan.index}}
    if tf_config_setting() != check_devices({"workers": plan.workers, "index": plan.index}):
        os.environ["TF_CONFIG"] = json.dumps(wanted)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout())
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (RuntimeError, ValueError) as error:
        raise TrainingError(
            f"Could not join the workers {', '.join(plan.workers)} as worker {plan.index}: {error}",
            fix="Start this worker before TensorFlow does anything else (a new process).",
        ) from error
    _MULTI_WORKER[key] = strategy
    return strategy


# --- Keras 3 and MultiWorkerMirroredStrategy ---------------------------------------------
#
# Keras 3.15 (TensorFlow backend) fails two ways with MultiWorkerMirroredStrategy
# (keras-team/keras#20585, tensorflow/tensorflow#72388), both in reducing values across
# workers, neither in training itself:
# 1. before the first step it averages a data batch across workers only to learn its shapes
#    ("Attempt to convert a value (PerReplica...) to a Tensor"): the local batch has them;
# 2. it averages each step's metric values with ``axis=0``, which a scalar does not have
#    ("Invalid reduction dimension 0 for input with 0 dimensions"): average the scalars.
# The fixes below do exactly that and nothing else; other strategies are left alone.


def _fix_multi_worker_model(model, strategy) -> None:
    import tensorflow as tf
    from keras.src import tree

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(local, next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    if hasattr(model, "_maybe_symbolic_build") and hasattr(model, "_symbolic_build"):
        model._maybe_symbolic_build = maybe_symbolic_build
    _fix_metric_reduction()


def _fix_metric_reduction() -> None:
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "_layerlab_fixed", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return _mean_over_workers(values, strategy)
        return original(values, strategy, reduction)

    reduce_per_replica._layerlab_fixed = True
    trainer.reduce_per_replica = reduce_per_replica


def _mean_over_workers(values, strategy):
    """Each value averaged over the workers; the scalars (a step's loss and metrics) packed
    into one vector, so that a step costs one all-reduce for them, not one each."""
    import tensorflow as tf
    from keras.src import tree

    flat = tree.flatten(values)
    scalars = [
        index
        for index, value in enumerate(flat)
        if isinstance(value, tf.Tensor) and value.shape.rank == 0 and value.dtype.is_floating
    ]
    reduced = list(flat)
    if len(scalars) > 1:
        dtype = flat[scalars[0]].dtype
        packed = tf.stack([tf.cast(flat[index], dtype) for index in scalars])
        means = tf.unstack(strategy.reduce("MEAN", packed, axis=None))
        for index, mean in zip(scalars, means, strict=True):
            reduced[index] = tf.cast(mean, flat[index].dtype)
    for index, value in enumerate(flat):
        if len(scalars) <= 1 or index not in scalars:
            reduced[index] = strategy.reduce("MEAN", value, axis=None)
    return tree.pack_sequence_as(values, reduced)


# --- a worker that is gone ---------------------------------------------------------------

_GONE_ERRORS = (
    "UnavailableError",
    "DeadlineExceededError",
    "CancelledError",
    "AbortedError",
)
_TASK = re.compile(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)")


def worker_failure_message(error: BaseException, workers: list[str], index: int) -> str | None:
    """'Training failed because worker 1 (127.0.0.1:2345) stopped responding ...' when
    ``error`` is a collective operation that lost another worker; None for other errors."""
    text = str(error)
    name = type(error).__name__
    lost = name in _GONE_ERRORS or "Collective ops is aborted" in text
    if not lost:
        return None
    which = None
    for position, address in enumerate(workers):
        if position != index and address in text:
            which = position
            break
    if which is None:  # "remote target /job:worker/replica:0/task:1", "unhealthy: ..."
        for job, task in _TASK.findall(text):
            position = 0 if job == "chief" else int(task)
            if position != index and position < len(workers):
                which = position
                break
    who = f"worker {which} ({workers[which]})" if which is not None else "another worker"
    return (
        f"Training failed because {who} stopped responding (it stopped, crashed or lost its "
        f"network connection), so this worker ({index}) ended the run. Nothing it trained is "
        "kept as a good model: start all the workers again."
    )
