"""Tutorial 7: control flow and weight sharing: one middle ``Linear`` reused 0-3 times."""
import random

import taimatsu as torch


class DynamicNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.input_linear = torch.nn.Linear(D_in, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_out)

    def forward(self, x):
        # Each forward pass picks 0-3 middle layers, reusing the same module (and weights).
        h_relu = self.input_linear(x).clamp(min=0)
        for _ in range(random.randint(0, 3)):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        y_pred = self.output_linear(h_relu)
        return y_pred


def main(device="cpu", steps=500, on_step=None):
    device = torch.device(device)
    N, D_in, H, D_out = 64, 1000, 100, 10

    x = torch.randn(N, D_in, device=device)
    y = torch.randn(N, D_out, device=device)

    model = DynamicNet(D_in, H, D_out).to(device)

    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
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
