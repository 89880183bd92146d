"""Tutorial 2: the same net, with gradients from autograd."""
import taimatsu as torch


def main(device="cpu", steps=500, on_step=None):
    dtype = torch.float
    device = torch.device(device)

    N, D_in, H, D_out = 64, 1000, 100, 10

    x = torch.randn(N, D_in, device=device, dtype=dtype)
    y = torch.randn(N, D_out, device=device, dtype=dtype)

    # requires_grad=True: we want gradients with respect to these tensors in the backward pass.
    w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    for t in range(steps):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)

        loss = (y_pred - y).pow(2).sum()
        if on_step is not None:
            on_step(t, loss.item())
        elif t % 100 == 99:
            print(t, loss.item())

        loss.backward()

        # Update weights by hand; no_grad because these updates need no gradient themselves.
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad

            w1.grad.zero_()
            w2.grad.zero_()
    return loss.item()


if __name__ == "__main__":
    main()
