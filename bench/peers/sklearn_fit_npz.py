# Fit scikit-learn BernoulliRBM (784x500, lr 0.05, batch 100) on binarized Fashion-MNIST for
# EPOCHS epochs and save its attributes as an NPZ that `rbmgpu eval --model OUT.npz` reads.
# Usage: /usr/bin/python3 bench/peers/sklearn_fit_npz.py EPOCHS OUT.npz
import gzip, sys, time, numpy as np
from sklearn.neural_network import BernoulliRBM
def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    n = int.from_bytes(b[4:8], 'big')
    return np.frombuffer(b, dtype=np.uint8, offset=16).reshape(n, 784)
x = (idx('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz') / 255.0 >= 0.5).astype(np.float64)
epochs = int(sys.argv[1]); out = sys.argv[2]
rbm = BernoulliRBM(n_components=500, learning_rate=0.05, batch_size=100, n_iter=epochs, random_state=0)
t = time.time(); rbm.fit(x); dt = time.time() - t
np.savez(out, components_=np.ascontiguousarray(rbm.components_), intercept_hidden_=rbm.intercept_hidden_, intercept_visible_=rbm.intercept_visible_)
print(f"sklearn fit {epochs} epochs in {dt:.1f}s ({epochs*len(x)/dt:.0f} samples/s)")
