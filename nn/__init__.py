"""nn — a compact NumPy neural-network library for the lecture's lessons.

It makes the behaviour of activation functions (sigmoid, tanh, ReLU, Leaky
ReLU, ELU) and weight initialisations (small/large Gaussian, Xavier, He)
measurable, and trains small classifiers fast enough to stand beside PyTorch.
Depends on NumPy only; plotting functions import matplotlib when called.

Modules
-------
activations, init, layers, losses, optim, schedules, model, data, trainer,
gradcheck, diagnostics, experiments, plots
"""
from . import (activations, data, diagnostics, experiments, gradcheck, init, layers, losses, model,
               optim, plots, schedules, trainer)
from .activations import ELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .base import Layer, Parameter
from .data import Batches
from .layers import Dropout, Linear
from .losses import softmax_cross_entropy
from .model import MLP, Sequential
from .optim import SGD, Adam
from .trainer import History, Trainer

__all__ = [
    "activations", "data", "diagnostics", "experiments", "gradcheck", "init", "layers", "losses",
    "model", "optim", "plots", "schedules", "trainer",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "Layer", "Parameter", "Batches",
    "Linear", "Dropout", "softmax_cross_entropy", "MLP", "Sequential", "SGD", "Adam",
    "History", "Trainer",
]
