"""The shapes of the API's answers, as pydantic models: they write the OpenAPI page and the tests check against them.
Owns ModelInfo, Face (a face as ``predict --json`` writes it), FacesResponse, VideoJobCreated, VideoJobState, Problem.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ModelInfo(BaseModel):
    name: str = Field(description="The shipped model's name (fer2013, ferplus) or the model file's name")
    labels: list[str] = Field(description="The emotions the model predicts, in the order of its outputs")
    label_set: str = Field(description="fer2013 (seven emotions), ferplus (eight, with Contempt) or custom")
    backend: str = Field(description="lite: the int8 LiteRT model; keras: the float32 Keras model")
    flip_tta: bool = Field(description="Whether each face's probabilities average it and its mirror image")
    uncertain_below: float = Field(description="A face whose top probability is below this is marked uncertain")


class Box(BaseModel):
    x: int
    y: int
    w: int
    h: int


class Face(BaseModel):
    """One face, exactly as `python train_cli.py predict --json` writes it."""

    box: Box = Field(description="In pixels of the analysed image (see FacesResponse.image)")
    emotion: str
    probability: float = Field(description="The top emotion's calibrated probability")
    uncertain: bool = Field(description="True when the probability is below the model's uncertain_below")
    probabilities: dict[str, float] = Field(description="Every emotion's calibrated probability")


class ImageSize(BaseModel):
    width: int
    height: int


class FacesResponse(BaseModel):
    model: ModelInfo
    image: ImageSize = Field(description="The size the photo was analysed at: upright, long side at most 1600 px "
                                         "(the dashboard's size); boxes are in these pixels")
    faces: list[Face] = Field(description="Largest first")


Status = Literal["queued", "running", "done", "failed"]


class VideoJobCreated(BaseModel):
    id: str
    status: Status = Field(description="Usually queued; running if the worker took it up at once")
    url: str = Field(description="Where the job's status is (GET) and how to remove it (DELETE)")


class VideoProgress(BaseModel):
    fraction: float | None = Field(description="Share of the video done; null where its length is unknown")
    frames: int
    video_seconds: float
    duration_seconds: float | None


class VideoJobState(BaseModel):
    id: str
    name: str = Field(description="The uploaded file's name")
    status: Status
    created: float = Field(description="Seconds since the epoch")
    progress: VideoProgress | None
    error: str | None = Field(description="Why the job failed")
    expires: float | None = Field(description="When the finished job and its files are removed (seconds since "
                                              "the epoch)")
    files: dict[str, str] = Field(description="When done: each output's download URL, by file name "
                                              "(frames.csv, summary.json, annotated.mp4, timeline.png)")


class Problem(BaseModel):
    """Every error: a status code and a sentence saying what was wrong."""

    detail: str
