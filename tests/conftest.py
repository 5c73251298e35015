import warnings

import pytest
import torch

warnings.filterwarnings("ignore", category=FutureWarning)


@pytest.fixture(scope="session")
def carphone_frames():
    from amgap.io import open_video

    return list(open_video("carphone").frames(0, 6))


@pytest.fixture(scope="session")
def carphone_frames_17():
    from amgap.io import open_video

    return list(open_video("carphone").frames(0, 17))


@pytest.fixture(scope="session")
def slim_init():
    from amgap.models import init_model

    return init_model("ssf-slim", 3)


@pytest.fixture
def synthetic_clip():
    """A small moving gradient: content that makes motion and residual non-trivial."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(3, 80, 104, generator=g)
    return [torch.roll(base, shifts=(i, 2 * i), dims=(1, 2)) for i in range(4)]
