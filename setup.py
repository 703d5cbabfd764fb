"""`pip install .`: the ROS-free core (network, events, tracking, evaluation, training) and
the `fetrack` command. On a robot the package is built with colcon instead (CMakeLists.txt),
which also generates the ROS interfaces.

torch is deliberately not pinned here: install the build for your machine first (CPU or the
CUDA version of your driver), e.g. `pip install torch==2.13.0`.
"""
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent


def requirements(name: str) -> list[str]:
    lines = (ROOT / "requirements" / name).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


setup(
    name="fetrack_ros",
    version="0.1.0",
    description="Mamba-FETrack V2 RGB + event camera tracking for ROS 2 (ROS-free core)",
    long_description=(ROOT / "README.md").read_text() if (ROOT / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["fetrack_ros", "fetrack_ros.*"]),
    package_data={"fetrack_ros.training": ["configs/*.yaml"]},
    install_requires=["torch>=2.1"] + requirements("core.txt"),
    extras_require={"cuda": ["mamba-ssm", "causal-conv1d"],
                    "training": ["scikit-image"]},  # photographs for the simulator's photo options
    # Message definitions (rosbags reads them without a ROS install) and the default model,
    # found at run time by fetrack_ros.resources.find_shared.
    data_files=[("share/fetrack_ros/msg", glob("msg/*.msg")),
                ("share/fetrack_ros/resource", glob("resource/*.pt"))],
    entry_points={"console_scripts": ["fetrack = fetrack_ros.cli:main"]},
)
