"""augkit: fast, reproducible, serialisable image augmentation.

Examples
--------
>>> import numpy as np
>>> import augkit as A
>>> pipe = A.Compose([A.Shift(), A.Tint(), A.BoxErase()], seed=0)
>>> out = pipe(image=np.zeros((32, 32, 3), np.uint8), record=True)
>>> sorted(out)
['image', 'params']
"""
from . import functional
from .compose import Compose, OneOf, SomeOf
from .core import Transform
from .serialization import from_dict, load, save, to_dict
from .transforms import BoxErase, CenterCrop, Crop, HorizontalFlip, RandomCrop, Shift, Tint, VerticalFlip

__version__ = "0.1.0"

__all__ = ["Transform", "Compose", "OneOf", "SomeOf", "HorizontalFlip", "VerticalFlip", "Crop", "CenterCrop",
           "RandomCrop", "Shift", "Tint", "BoxErase", "functional", "to_dict", "from_dict", "save", "load"]
