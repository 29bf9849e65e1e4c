"""Built-in experiment trackers (``register_loggers``): TensorBoard, Weights & Biases (offline by default), MLflow
(local file store). Each needs its optional extra (``pip install 'xlt-harness[tensorboard]'``, ``[wandb]``,
``[mlflow]``); choosing one that is not installed fails at plan or run start, naming that command."""
