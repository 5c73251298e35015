"""Training: clip datasets and the rate-distortion loop."""

from .data import DEFAULT_TRAINING_VIDEOS, EVALUATION_CLIPS, ClipBank
from .loop import TrainConfig, rd_loss, train

__all__ = ["TrainConfig", "train", "rd_loss", "ClipBank", "DEFAULT_TRAINING_VIDEOS",
           "EVALUATION_CLIPS"]
