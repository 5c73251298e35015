"""Training: clip datasets and the rate-distortion loop."""

from .data import DEFAULT_TRAINING_VIDEOS, EVALUATION_CLIPS, ClipBank
from .loop import TrainConfig, rd_loss, snapshot, train
from .recipes import LAMBDAS, RECIPES, recipe

__all__ = ["TrainConfig", "train", "snapshot", "rd_loss", "ClipBank", "DEFAULT_TRAINING_VIDEOS",
           "EVALUATION_CLIPS", "recipe", "RECIPES", "LAMBDAS"]
