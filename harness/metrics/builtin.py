"""The built-in metrics, registered through ``register_metrics`` like a plugin's (see :class:`harness.api.Metric`).

Each metric module declares its records in ``RECORDS``; this module hands them to the registry. Listing plugins
stays fast: nothing here imports numpy, torch or sacrebleu.
"""

from __future__ import annotations

from harness.core.hookspecs import hookimpl


@hookimpl
def register_metrics(register) -> None:
    from harness.metrics import base, mlqa, mt, ranking, seqeval_compat, squad

    for record in (*base.RECORDS, *squad.RECORDS, *mlqa.RECORDS, *seqeval_compat.RECORDS, *ranking.RECORDS,
                   *mt.records()):
        register(record)
