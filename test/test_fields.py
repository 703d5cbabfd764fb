"""Unknown names given for configs and parameters are refused with the names that exist."""
import pytest

from fetrack_ros.model.configs import ModelConfig
from fetrack_ros.tracking.params import TrackerParams
from fetrack_ros.training.config import ConfigError, TrainConfig
from fetrack_ros.simulation.simulator import SimConfig


def test_every_config_names_the_unknown_field_where_it_came_from_and_the_known_ones():
    with pytest.raises(ValueError, match=r"\['embed_dims'\] in ModelConfig; known: \[.*'embed_dim'"):
        ModelConfig.from_dict({**ModelConfig(name="x").to_dict(), "embed_dims": 3})
    with pytest.raises(ValueError, match=r"\['fps'\] in SimConfig; known: \[.*'frame_period_us'"):
        SimConfig.from_dict({"fps": 30})
    with pytest.raises(ConfigError, match=r"\['optim'\] in the top level of the training config; known: "
                                          r"\['data', 'model', 'output', 'train', 'validation'\]"):
        TrainConfig.from_dict({"optim": {}})
    with pytest.raises(TypeError, match=r"\['search_scale'\] in TrackerParams; known: \[.*'search_factor'"):
        TrackerParams().replace(search_scale=4.0)
    # Known names pass through to the dataclass.
    assert SimConfig.from_dict({"num_frames": 7}).num_frames == 7
