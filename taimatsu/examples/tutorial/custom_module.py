"""Tutorial 6: the net as a custom ``nn.Module`` subclass, trained by ``optim.SGD``."""
import taimatsu as torch


class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


def main(device="cpu", steps=500, on_step=None):
    device = torch.device(device)
    N, D_in, H, D_out = 64, 1000, 100, 10

    x = torch.randn(N, D_in, device=device)
    y = torch.randn(N, D_out, device=device)

    model = TwoLayerNet(D_in, H, D_out).to(device)

    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    for t in range(steps):
        y_pred = model(x)

        loss = criterion(y_pred, y)
        if on_step is not None:
            on_step(t, loss.item())
        elif t % 100 == 99:
            print(t, loss.item())

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


if __name__ == "__main__":
    main()
