"""Device choice: what this machine offers, the fit.devices setting, plain messages."""

from __future__ import annotations

import json

import pytest

import main
from engine import distribution, training
from engine.distribution import (
    NO_GPU,
    ONE_GPU,
    DeviceInfo,
    check_devices,
    device_choices,
    per_replica_batch,
    per_replica_text,
    strategy_for,
    tf_config_setting,
    worker_failure_message,
)
from engine.errors import LayerLabError, ProjectError
from engine.project import resources_dir, validate_project

CPU = DeviceInfo("cpu", 0, "CPU")


def _gpus(count: int) -> list[DeviceInfo]:
    return [CPU] + [DeviceInfo("gpu", index, "NVIDIA H200") for index in range(count)]


def _by_value(choices):
    return {choice.value: choice for choice in choices}


def test_this_machine_lists_the_cpu_first():
    devices = distribution.available_devices()
    assert devices[0] == CPU
    assert all(device.kind == "gpu" for device in devices[1:])


def test_choices_without_a_gpu_are_disabled_with_the_reason():
    choices = _by_value(device_choices([CPU]))
    assert choices[None].enabled and choices[None].label == "Default (CPU)"
    assert choices["cpu"].enabled
    assert not choices["gpu:0"].enabled and choices["gpu:0"].reason == NO_GPU
    assert not choices["all"].enabled and choices["all"].reason == NO_GPU


def test_one_gpu_makes_all_gpus_the_same_as_one():
    choices = _by_value(device_choices(_gpus(1)))
    assert choices["gpu:0"].enabled and choices["gpu:0"].label == "GPU 0: NVIDIA H200"
    assert not choices["all"].enabled and choices["all"].reason == ONE_GPU
    assert choices[None].label == "Default (GPU 0: NVIDIA H200)"


def test_two_gpus_offer_each_and_all():
    choices = _by_value(device_choices(_gpus(2)))
    assert {"gpu:0", "gpu:1", "all"} <= set(choices)
    assert all(choice.enabled for choice in choices.values())
    assert choices["all"].label == "All GPUs (2)" and choices["all"].replicas == 2
    assert choices["gpu:1"].replicas == 1


@pytest.mark.parametrize("setting", ["all", "gpu:0", "GPU"])
def test_asking_for_a_gpu_without_one_is_a_plain_message(setting):
    with pytest.raises(LayerLabError) as caught:
        strategy_for(setting, "tensorflow", devices=[CPU])
    text = str(caught.value)
    assert "this machine has no GPU" in text and "Devices" in text
    assert text[0].isupper() and "Error" not in text and "tensorflow." not in text


def test_a_gpu_index_past_the_last_names_the_gpus():
    with pytest.raises(LayerLabError, match=r"GPU 3, but this machine has 2 GPUs \(GPU 0: "):
        strategy_for("gpu:3", "tensorflow", devices=_gpus(2))


def test_plans_for_each_choice():
    assert strategy_for(None, "tensorflow").kind == "default"
    assert strategy_for("cpu", "tensorflow", devices=[CPU]).kind == "default"  # already CPU
    on_cpu = strategy_for("cpu", "tensorflow", devices=_gpus(2))
    assert (on_cpu.kind, on_cpu.devices, on_cpu.replicas) == ("one", ("/cpu:0",), 1)
    mirrored = strategy_for("all", "tensorflow", devices=_gpus(2))
    assert (mirrored.kind, mirrored.replicas) == ("mirrored", 2)
    assert mirrored.devices == ("/gpu:0", "/gpu:1")
    assert "MirroredStrategy" in mirrored.description
    assert "GPU 1: NVIDIA H200" in mirrored.description
    assert strategy_for("all", "jax", devices=_gpus(2)).kind == "data_parallel"
    on_jax = strategy_for("gpu:1", "jax", devices=_gpus(2))  # jax.default_device in scope()
    assert (on_jax.kind, on_jax.devices) == ("one", ("/gpu:1",))
    assert strategy_for("all", "tensorflow", devices=_gpus(1)).kind == "default"
    workers = strategy_for({"workers": ["a:1", "b:2"], "index": 1}, "tensorflow")
    assert (workers.kind, workers.replicas, workers.is_chief) == ("multi_worker", 2, False)
    assert workers.description == "2 workers (MultiWorkerMirroredStrategy): a:1 (chief), b:2"


def test_multi_worker_needs_tensorflow():
    with pytest.raises(LayerLabError, match="needs the TensorFlow backend"):
        strategy_for({"workers": ["a:1"], "index": 0}, "jax")


def test_per_replica_batch():
    assert per_replica_batch(64, 2) == 32
    assert per_replica_text(64, 2) == "per replica: 32"
    assert per_replica_text(33, 2) == "per replica: 16–17"
    assert per_replica_text(64, 1) == ""
    plan = strategy_for("all", "tensorflow", devices=_gpus(4))
    with pytest.raises(LayerLabError, match="batch size 2 is smaller than the 4 replicas"):
        plan.check_batch(2)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(None, None), ("CPU", "cpu"), (" gpu:1 ", "gpu:1"), ("gpu", "gpu:0"), ("All", "all")],
)
def test_the_setting_is_normalised(setting, expected):
    assert check_devices(setting) == expected


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("tpu", 'The setting fit.devices must be "cpu", "gpu:N", "all"'),
        (3, 'The setting fit.devices must be "cpu"'),
        ({"workers": ["nohost"], "index": 0}, "'nohost' is not a worker address"),
        ({"workers": ["a:1", "a:1"], "index": 0}, "names a worker twice"),
        ({"workers": ["a:1"], "index": 1}, "The setting fit.devices.index must be"),
    ],
)
def test_bad_settings_are_refused_by_the_project(setting, message):
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"]["devices"] = setting
    with pytest.raises(ProjectError) as caught:
        validate_project(project)
    assert message in str(caught.value)
    assert caught.value.field == "fit.devices"


def test_the_project_keeps_a_good_setting():
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"]["devices"] = "GPU:1"
    assert validate_project(project)["fit"]["devices"] == "gpu:1"


def test_tf_config_is_read():
    config = {
        "cluster": {"chief": ["c:1"], "worker": ["w:2", "w:3"]},
        "task": {"type": "worker", "index": 1},
    }
    assert tf_config_setting({"TF_CONFIG": json.dumps(config)}) == {
        "workers": ["c:1", "w:2", "w:3"],
        "index": 2,
    }
    assert tf_config_setting({}) is None
    with pytest.raises(LayerLabError, match="TF_CONFIG is not valid"):
        tf_config_setting({"TF_CONFIG": "{not json"})


def test_a_lost_worker_is_named():
    # The text TensorFlow 2.21 gave when worker 1 was killed during a step (seen here).
    text = (
        "{{function_node __wrapped__CollectiveReduceV2_Nordering_token_1_device_/job:worker/"
        "replica:0/task:0/device:CPU:0}} Collective ops is aborted by: failed to connect to "
        "all addresses; last error: UNKNOWN: ipv4:127.0.0.1:23497: Failed to connect to remote "
        "host: Connection refused\nAdditional GRPC error information from remote target "
        "/job:worker/replica:0/task:1 while calling /tensorflow.WorkerService/RecvBuf:"
    )

    class UnavailableError(Exception):
        pass

    workers = ["127.0.0.1:23496", "127.0.0.1:23497"]
    message = worker_failure_message(UnavailableError(text), workers, 0)
    assert message.startswith("Training failed because worker 1 (127.0.0.1:23497) stopped")
    assert "start all the workers again" in message
    by_task = worker_failure_message(UnavailableError(text.replace("23497", "9")), workers, 0)
    assert "worker 1 (127.0.0.1:23497)" in by_task
    assert worker_failure_message(ValueError("shapes"), workers, 0) is None
    # ... and when the coordination service noticed first (also seen here):
    heartbeat = (
        "{{function_node __wrapped__CollectiveReduceV2_Nordering_token_1_device_/job:worker/"
        "replica:0/task:0/device:CPU:0}} Collective ops is aborted by: Error reported from "
        "/job:worker/task:1: The following tasks are unhealthy (stopped sending heartbeats):\n"
        "/job:worker/replica:0/task:1\nThe tasks have crashed."
    )
    message = worker_failure_message(UnavailableError(heartbeat), workers, 0)
    assert message.startswith("Training failed because worker 1 (127.0.0.1:23497) stopped")
    chief_gone = heartbeat.replace("task:1", "task:0").replace("task:0/device", "task:1/device")
    message = worker_failure_message(UnavailableError(chief_gone), workers, 1)
    assert message.startswith("Training failed because worker 0 (127.0.0.1:23496) stopped")


def test_a_run_on_a_missing_gpu_fails_plainly():
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"]["devices"] = "all"
    result = training.run(project, epochs=1, evaluate_test=False)
    assert result.status == "failed" and result.epochs_completed == 0
    assert "this machine has no GPU" in result.message


def _demo_file(tmp_path, **fit):
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(callbacks=[], **fit)
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project))
    return path


def test_cli_refuses_a_missing_gpu_as_bad_input(tmp_path, capsys):
    path = _demo_file(tmp_path, devices="gpu:0")
    before = path.read_bytes()
    assert main.main(["train", str(path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "layerlab train: The project trains on GPU 0, but this machine has no GPU" in err
    assert path.read_bytes() == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--workers", "127.0.0.1:5000"], "--workers needs --worker-index"),
        (["--worker-index", "0"], "--worker-index needs --workers"),
        (["--workers", "a:1,b:2", "--worker-index", "2"], "--worker-index must be from 0 to 1"),
        (["--workers", "a:1,b", "--worker-index", "0"], "--workers: 'b' is not a worker address"),
        (["--local-workers", "0"], "--local-workers must be at least 1"),
        (["--local-workers", "2", "--workers", "a:1,b:2"], "leave out --workers"),
    ],
)
def test_cli_worker_options_are_checked(tmp_path, capsys, arguments, message):
    path = _demo_file(tmp_path)
    assert main.main(["train", str(path), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_one_device_strategy_trains_like_the_default(monkeypatch):
    """ "cpu" on a machine with a GPU runs in a real tf.distribute.OneDeviceStrategy scope."""
    monkeypatch.setattr(distribution, "available_devices", lambda backend=None: _gpus(1))
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(callbacks=[], devices="cpu")
    plain = json.loads(json.dumps(project))
    plain["fit"]["devices"] = None
    one = training.run(project, epochs=2, evaluate_test=False)
    default = training.run(plain, epochs=2, evaluate_test=False)
    assert one.status == default.status == "completed", one.message
    assert type(one.model.distribute_strategy).__name__ == "OneDeviceStrategy"
    assert one.device == "CPU"
    # Two seeded runs in one process already differ by ~0.015 (tf.data shuffling draws on
    # process-wide state), so the same curve within 0.05 is what can be asked here.
    assert one.history["val_loss"][-1] == pytest.approx(default.history["val_loss"][-1], abs=0.05)


def test_an_uneven_batch_on_data_parallel_is_explained():
    plan = distribution.Distribution("all", "data_parallel", "jax", replicas=2)
    error = ValueError(
        "Sharding NamedSharding(mesh=Mesh('batch': 2), spec=P('batch', None)) implies that "
        "array axis 0 is partitioned 2 times, but the dimension size is 7 (full shape: (7, "
        "64), per-dimension tiling factors: [2, 1] should evenly divide the shape)"
    )
    message = plan.failure_message(error)
    assert message.startswith("A batch of 7 samples cannot be split evenly over the 2 devices")
    assert plan.failure_message(ValueError("other")) is None
