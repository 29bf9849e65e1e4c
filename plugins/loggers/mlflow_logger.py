"""MLflow: one MLflow run per training node in a local file store, ``OUTPUT_DIR/logs/mlflow/`` (experiment = the
config's name, run name = the node's label, tags ``xlt.node`` / ``xlt.stage`` / ``xlt.run`` / ``xlt.config_hash``,
the hyper-parameters as params), or on the server ``MLFLOW_TRACKING_URI`` names when it is set. View with
``mlflow ui --backend-store-uri OUTPUT_DIR/logs/mlflow``. Needs ``pip install 'xlt-harness[mlflow]'``.

MLflow 3 keeps its file store in maintenance mode and refuses it unless ``MLFLOW_ALLOW_FILE_STORE`` is true: a
run that chose this logger sets it (unless the user set it) when it writes to the local folder."""

from __future__ import annotations

import os
import time

from harness.api import Logger, LogNode, NodeLog, hookimpl


class MlflowLog(NodeLog):
    """One node's MLflow run, through a client of its own (no global active run)."""

    def __init__(self, node: LogNode) -> None:
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            node.dir.mkdir(parents=True, exist_ok=True)
            uri = node.dir.resolve().as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        name = node.config_name or "xlt-harness"
        found = self.client.get_experiment_by_name(name)
        if found is None:
            try:
                experiment = self.client.create_experiment(name)
            except Exception:  # noqa: BLE001 - another worker created it meanwhile
                experiment = self.client.get_experiment_by_name(name).experiment_id
        else:
            experiment = found.experiment_id
        tags = {"xlt.node": node.key, "xlt.stage": node.stage, "xlt.run": str(node.run),
                "xlt.config_hash": str(node.config_hash)}
        self.run_id = self.client.create_run(experiment, tags=tags, run_name=node.label).info.run_id
        from mlflow.entities import Param

        self.client.log_batch(self.run_id, params=[Param(k, str(v)[:500]) for k, v in sorted(node.hp.items())])

    def _log(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in values.items()])

    def step(self, step: int, scalars: dict[str, float]) -> None:
        self._log(step, scalars)

    def dev(self, step: int, metric: str, value: float) -> None:
        self._log(step, {metric: value})

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


@hookimpl
def register_loggers(register) -> None:
    register(Logger(name="mlflow", open=MlflowLog, requires=("mlflow",), install="pip install 'xlt-harness[mlflow]'",
                    description="MLflow runs in a local file store under OUTPUT_DIR/logs/mlflow/ "
                                "(or at MLFLOW_TRACKING_URI)"))
