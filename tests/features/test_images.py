import numpy as np
import pytest
import torch

from recsys_lib.features.images import SmallCNN, embed_images, train_image_encoder

from .helpers import fake_images


def test_small_cnn_shapes_and_bad_input():
    torch.manual_seed(0)
    net = SmallCNN(embedding_dim=8, n_classes=4)
    images, _ = fake_images(2, n_classes=4)
    assert net.embed(images).shape == (8, 8)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 4)
    with pytest.raises(ValueError, match="shape"):
        net(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="nan"):
        net(torch.full((1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        net(torch.rand(0, 28, 28))
    with pytest.raises(TypeError, match="uint8"):
        net(torch.ones(1, 28, 28, dtype=torch.int64))


def test_train_image_encoder_learns_and_is_deterministic():
    images, labels = fake_images(n_classes=4)
    a = train_image_encoder(
        images, labels, epochs=10, seed=3, embedding_dim=8, batch_size=16
    )
    b = train_image_encoder(
        images, labels, epochs=10, seed=3, embedding_dim=8, batch_size=16
    )
    assert a.embeddings.shape == (len(labels), 8) and a.embeddings.dtype == np.float32
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    assert a.train_accuracy > 0.9  # four very different templates
    assert a.history.epochs == 10 and not a.model.training
    again = embed_images(a.model, images, batch_size=7)
    np.testing.assert_allclose(again, a.embeddings, atol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        train_image_encoder(images, labels[:-1])
    with pytest.raises(ValueError, match="single class"):
        train_image_encoder(images, np.zeros_like(labels))


def test_image_batches_one_permutation_per_epoch_global_rng_untouched():
    """The loader's order is Chapter 5's stream: torch.randperm from a seeded generator."""
    from recsys_lib.features.images import _image_loader

    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    g = torch.Generator().manual_seed(4)
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    loader = _image_loader(x, y, batch_size=4, seed=4)
    assert len(loader) == 3
    for _ in range(3):  # epochs
        order = torch.randperm(10, generator=g)
        batches = list(loader)
        assert [len(b[1]) for b in batches] == [4, 4, 2]
        torch.testing.assert_close(torch.cat([b[1] for b in batches]), order)
        torch.testing.assert_close(
            torch.cat([b[0] for b in batches])[:, 0], x[order, 0]
        )
    assert torch.equal(torch.random.get_rng_state(), before)


def test_train_image_encoder_wrong_kinds():
    images, labels = fake_images(2, n_classes=4)
    with pytest.raises(TypeError, match="integer classes"):
        train_image_encoder(images, labels.astype(float))
    with pytest.raises(TypeError, match="epochs must be an int"):
        train_image_encoder(images, labels, epochs=2.0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        train_image_encoder(images, labels, batch_size=0)
    with pytest.raises(TypeError, match="embedding_dim must be an int"):
        SmallCNN(embedding_dim="8")
