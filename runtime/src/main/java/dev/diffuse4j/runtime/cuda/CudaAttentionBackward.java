package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.util.ArrayList;
import java.util.List;

/**
 * Reverse mode of the attention op on CUDA by a host round trip: the call's inputs and the incoming
 * gradients are copied to the CPU, the CPU backward runs (every feature, see the CPU backend), and
 * the gradients are copied back, each in its input's dtype. Exact but slow (PCIe both ways plus CPU
 * arithmetic, and a stream synchronisation). {@link CudaAttentionGrad} runs the common calls on the
 * device and sends only what its kernels do not cover here: AdaIN of Q/K/V (whose backward runs
 * through the per-(item, channel) statistics of both rows) and head dims above 256.
 */
final class CudaAttentionBackward {
    private CudaAttentionBackward() {}

    static AttentionGrads backward(CudaBackend cuda, AttentionCall call, Tensor dOut, Tensor dMaps) {
        List<Tensor> host = new ArrayList<>();
        try {
            List<KvSegment> segments = new ArrayList<>();
            for (KvSegment s : call.segments())
                segments.add(new KvSegment(toHost(cuda, s.k(), host), toHost(cuda, s.v(), host), s.itemMap(), s.logitScale(), s.logitBias(), s.weight()));
            AttentionCall onHost = new AttentionCall(toHost(cuda, call.q(), host), call.heads(), segments, call.mode(), call.scale(),
                    call.causal(), call.adain(), call.captureSegment());
            AttentionGrads g = Backends.cpu().attentionBackward(onHost, toHost(cuda, dOut, host), toHost(cuda, dMaps, host));
            host.add(g.dq());
            host.addAll(g.dk());
            host.addAll(g.dv());
            List<Tensor> dk = new ArrayList<>(), dv = new ArrayList<>();
            for (Tensor t : g.dk()) dk.add(cuda.copyFrom(t));
            for (Tensor t : g.dv()) dv.add(cuda.copyFrom(t));
            return new AttentionGrads(cuda.copyFrom(g.dq()), dk, dv);
        } finally {
            for (Tensor t : host) t.close();
        }
    }

    private static Tensor toHost(CudaBackend cuda, Tensor x, List<Tensor> owned) {
        if (x == null) return null;
        cuda.requireHere(x);
        Tensor t = cuda.toCpu(x);
        owned.add(t);
        return t;
    }
}
