import numpy as np
import pytest
from PIL import Image

from faceattr.preprocess.framing import (
    CANONICAL_LANDMARKS,
    frame_face,
    framings,
    get_framing,
    similarity_from_landmarks,
    square_from_box,
)


def test_framings_are_configuration():
    names = set(framings())
    assert {"celeba-aligned", "celebahq", "crop"} <= names
    assert get_framing(None).name == "crop"


def test_aligned_square_is_the_reference_square():
    # the canonical square in the 178x218 aligned frame: centre (89, 121), side 160
    x0, y0, x1, y1 = get_framing("celeba-aligned").square(178, 218)
    assert (x0 + x1) / 2 == pytest.approx(89, abs=0.5)
    assert (y0 + y1) / 2 == pytest.approx(121, abs=0.5)
    assert x1 - x0 == pytest.approx(160, abs=0.5)
    # a downscaled copy maps to the same square, scaled
    a = get_framing("celeba-aligned").square(89, 109)
    assert a == pytest.approx([c / 2 for c in (x0, y0, x1, y1)], abs=0.3)


def marker_image(w: int, h: int, square) -> Image.Image:
    """A black image with a white dot at the centre of ``square`` and one at its top-left."""
    a = np.zeros((h, w, 3), np.uint8)
    x0, y0, x1, y1 = square
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    a[cy - 2:cy + 3, cx - 2:cx + 3] = 255
    return Image.fromarray(a)


@pytest.mark.parametrize(("name", "w", "h"), [("celeba-aligned", 89, 109), ("celebahq", 64, 64),
                                              ("crop", 200, 208), ("celeba-crop108", 64, 64)])
def test_square_centre_lands_in_output_centre(name, w, h):
    f = get_framing(name)
    out = np.asarray(frame_face(marker_image(w, h, f.square(w, h)), 64, f))
    ys, xs = np.nonzero(out[..., 0] > 160)  # the dot, not the grey fill beyond the image
    assert abs(xs.mean() - 31.5) < 1.5 and abs(ys.mean() - 31.5) < 1.5


def test_box_seam():
    assert square_from_box((10, 20, 110, 120), expand=1.0) == (10, 20, 110, 120)
    x0, _, x1, _ = square_from_box((10, 20, 110, 120), expand=1.5)
    assert x1 - x0 == 150 and (x0 + x1) / 2 == 60


def test_landmarks_recover_a_similarity():
    size = 64
    angle, scale, t = np.deg2rad(20), 2.5, np.array([40.0, 70.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = (CANONICAL_LANDMARKS * size) @ (scale * rot).T + t
    m = similarity_from_landmarks(pts, size)
    assert np.allclose(m[:, :2], scale * rot, atol=1e-9) and np.allclose(m[:, 2], t, atol=1e-9)


def test_landmark_alignment_undoes_rotation():
    """A face rotated by 25 degrees and aligned by its landmarks equals the upright crop."""
    rng = np.random.default_rng(0)
    base = np.kron(rng.integers(0, 255, (16, 16, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    img = Image.fromarray(base)  # 128x128 blocky pattern
    size = 64
    upright_pts = CANONICAL_LANDMARKS * 128
    ref = np.asarray(frame_face(img, size, landmarks=upright_pts)).astype(float)
    rotated = img.rotate(25, resample=Image.Resampling.BILINEAR, center=(64, 64))
    a = np.deg2rad(25)  # PIL rotates counter-clockwise on screen
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    pts = (upright_pts - 64) @ rot.T + 64
    out = np.asarray(frame_face(rotated, size, landmarks=pts)).astype(float)
    inner = (slice(16, 48), slice(16, 48))
    assert np.abs(out[inner] - ref[inner]).mean() < 12


def test_shard_framings_follow_the_data_boxes():
    # tight crop: the box (35,55)-(143,163) of the aligned frame, inside the canonical square
    # (9,41)-(169,201); the wide square is the canonical square itself
    x0, y0, x1, y1 = get_framing("celeba-crop108").coverage()
    assert (x0, y0, x1, y1) == pytest.approx(
        ((35 - 9) / 160, (55 - 41) / 160, (143 - 9) / 160, (163 - 41) / 160), abs=1e-3)
    assert get_framing("celeba-square160").coverage() == (0.0, 0.0, 1.0, 1.0)


def test_tight_crop_border_is_filled_and_wide_square_is_unchanged():
    from faceattr.preprocess.framing import FILL

    rng = np.random.default_rng(0)
    src = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    wide = np.asarray(frame_face(src, 64, "celeba-square160"), dtype=int)
    assert np.abs(wide - np.asarray(src, dtype=int)).max() <= 1
    tight = np.asarray(frame_face(src.point(lambda v: 200), 64, "celeba-crop108"))
    x0, y0, x1, y1 = (round(c * 64) for c in get_framing("celeba-crop108").coverage())
    assert (tight[y0 + 1:y1 - 1, x0 + 1:x1 - 1] == 200).all()
    outside = np.ones((64, 64), bool)
    outside[y0 - 1:y1 + 1, x0 - 1:x1 + 1] = False
    assert (tight[outside] == FILL).all()


def test_border_augmentation_blanks_like_the_tight_crop():
    import torch

    from faceattr.preprocess.framing import FILL
    from faceattr.training.augment import AugmentConfig, augment, blank_border

    x = torch.full((4, 3, 64, 64), 0.9)
    out = blank_border(x, torch.tensor([True, False, True, False]))
    assert torch.equal(out[1], x[1]) and not torch.equal(out[0], x[0])
    x0, y0, x1, y1 = (round(c * 64) for c in get_framing("celeba-crop108").coverage())
    assert (out[0, :, y0:y1, x0:x1] == 0.9).all()
    assert (out[0, :, :y0] == FILL[0] / 255).all() and (out[0, :, :, x1:] == FILL[0] / 255).all()
    # through augment(), every other augmentation off: border=0 leaves every face as it was,
    # border=1 blanks every one exactly as blank_border does
    plain = AugmentConfig(flip=0, scale=0, shift=0, rotate=0, brightness=0, contrast=0,
                          saturation=0, grey=0, border=0.0)
    assert torch.allclose(augment(x, plain, torch.Generator().manual_seed(1)), x, atol=1e-6)
    every = AugmentConfig(**{**plain.__dict__, "border": 1.0})
    blanked = augment(x, every, torch.Generator().manual_seed(1))
    assert torch.allclose(blanked, blank_border(x, torch.ones(4, dtype=torch.bool)), atol=1e-6)
    # the training default blanks about 30% (default.toml and the settings agree)
    half = AugmentConfig(**{**plain.__dict__, "border": AugmentConfig().border})
    x = torch.full((400, 3, 64, 64), 0.9)
    hit = (augment(x, half, torch.Generator().manual_seed(2))[:, 0, 0, 0] != 0.9).float().mean()
    assert AugmentConfig().border == 0.3 and 0.22 < hit < 0.38
