package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;

/**
 * diffusers Downsample2D with a conv: 3x3, stride 2, named {@code conv}. The UNet pads 1 on every
 * side; the VAE encoder pads only right and bottom by 1 (diffusers F.pad (0,1,0,1) then padding 0).
 */
public final class Downsample2D {
    /** UNet padding: 1 on every side. */
    public static final Conv2dParams SYMMETRIC = Conv2dParams.of(2, 1);
    /** VAE encoder padding: right and bottom only. */
    public static final Conv2dParams RIGHT_BOTTOM = new Conv2dParams(2, 2, 0, 0, 1, 1);

    private final Conv2d conv;

    private Downsample2D(Conv2d conv) { this.conv = conv; }

    public static Downsample2D of(Params p, int channels, Conv2dParams padding) {
        return new Downsample2D(Conv2d.of(p.at("conv"), channels, channels, 3, padding));
    }

    /** [B, H, W, C] -> [B, ceil(H/2), ceil(W/2), C] with the UNet padding, [B, floor(H/2), floor(W/2), C] with the VAE's. */
    public Tensor forward(Tensor x) { return conv.forward(x); }
}
