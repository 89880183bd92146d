"""Tutorial 4: the net as ``nn.Sequential``, with ``MSELoss(reduction="sum")``."""
import taimatsu as torch


def main(device="cpu", steps=500, on_step=None):
    device = torch.device(device)
    N, D_in, H, D_out = 64, 1000, 100, 10

    x = torch.randn(N, D_in, device=device)
    y = torch.randn(N, D_out, device=device)

    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out),
    ).to(device)

    loss_fn = torch.nn.MSELoss(reduction="sum")

    learning_rate = 1e-4
    for t in range(steps):
        y_pred = model(x)

        loss = loss_fn(y_pred, y)
        if on_step is not None:
            on_step(t, loss.item())
        elif t % 100 == 99:
            print(t, loss.item())

        model.zero_grad()
        loss.backward()

        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    return loss.item()


if __name__ == "__main__":
    main()
