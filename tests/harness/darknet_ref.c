/*
 * darknet_ref: runs Debian's libdarknet (pjreddie/darknet, 2018) so tests can compare neuroemu
 * against the implementation it imitates. Built by tests/helpers/darknet-ref.ts:
 *   gcc -O2 darknet_ref.c -I/usr/lib/darknet/include -L/usr/lib/darknet -ldarknet -lm
 *
 * Modes (all outputs are raw little-endian float32, C×H×W like darknet's own buffers):
 *
 *   darknet_ref forward CFG WEIGHTS INPUT.f32 OUTDIR
 *       load_network(CFG, WEIGHTS, 1), set_batch_network(net, 1), network_predict(net, input).
 *       INPUT.f32 must hold exactly net->inputs floats (C×H×W in [0,1]).
 *       Writes OUTDIR/layer_<i>.f32 (net->layers[i].output, `outputs` floats) for every layer and
 *       OUTDIR/layers.txt with one line per layer: "i type out_c out_h out_w outputs".
 *
 *   darknet_ref image RGB.u8 W H LW LH RW RH OUTDIR
 *       RGB.u8 is W×H interleaved 8-bit RGB. Builds a darknet image with make_image and
 *       data[k*w*h + y*w + x] = px/255., then writes OUTDIR/image.f32 (that image),
 *       OUTDIR/letterbox.f32 (letterbox_image(im, LW, LH)) and OUTDIR/resize.f32
 *       (resize_image(im, RW, RH)).
 *
 * The struct layout comes from the installed darknet.h (a CPU build: no GPU, no CUDNN, which is
 * what Debian ships). The forward mode checks the layout it relies on: every layer's
 * outputs == out_c*out_h*out_w and network_predict's pointer is the last layer's output buffer.
 * Exit codes: 0 ok, 2 bad usage or input, 3 layout check failed, 4 I/O error.
 */
#include <darknet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *layer_type_name(LAYER_TYPE t) {
    switch (t) {
    case CONVOLUTIONAL: return "convolutional";
    case DECONVOLUTIONAL: return "deconvolutional";
    case CONNECTED: return "connected";
    case MAXPOOL: return "maxpool";
    case SOFTMAX: return "softmax";
    case DETECTION: return "detection";
    case DROPOUT: return "dropout";
    case CROP: return "crop";
    case ROUTE: return "route";
    case COST: return "cost";
    case NORMALIZATION: return "normalization";
    case AVGPOOL: return "avgpool";
    case LOCAL: return "local";
    case SHORTCUT: return "shortcut";
    case ACTIVE: return "active";
    case BATCHNORM: return "batchnorm";
    case REGION: return "region";
    case YOLO: return "yolo";
    case REORG: return "reorg";
    case UPSAMPLE: return "upsample";
    default: return "other";
    }
}

static void die(int code, const char *fmt, const char *arg) {
    fprintf(stderr, "darknet_ref: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(code);
}

static void *read_all(const char *file, size_t *len) {
    FILE *fp = fopen(file, "rb");
    if (!fp) die(4, "cannot open %s", file);
    if (fseek(fp, 0, SEEK_END) != 0) die(4, "cannot seek %s", file);
    long n = ftell(fp);
    if (n < 0) die(4, "cannot tell %s", file);
    rewind(fp);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) die(4, "out of memory reading %s", file);
    if (n > 0 && fread(buf, 1, (size_t)n, fp) != (size_t)n) die(4, "short read on %s", file);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void write_floats(const char *dir, const char *name, const float *data, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) die(4, "cannot create %s", path);
    if (n > 0 && fwrite(data, sizeof(float), n, fp) != n) die(4, "short write on %s", path);
    if (fclose(fp) != 0) die(4, "cannot close %s", path);
}

static int parse_int(const char *s, const char *what) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || v <= 0 || v > (1 << 16)) die(2, "bad %s", what);
    return (int)v;
}

static int mode_forward(char *cfg, char *weights, const char *input_file, const char *outdir) {
    network *net = load_network(cfg, weights, 1);
    if (!net) die(2, "load_network failed for %s", cfg);
    set_batch_network(net, 1);

    size_t bytes = 0;
    float *input = (float *)read_all(input_file, &bytes);
    if (bytes != (size_t)net->inputs * sizeof(float)) {
        fprintf(stderr, "darknet_ref: input has %zu bytes, network needs %d floats (%d x %d x %d)\n",
                bytes, net->inputs, net->c, net->h, net->w);
        return 2;
    }
    if (net->inputs != net->c * net->h * net->w) die(3, "layout check: net->inputs != c*h*w%s", "");

    float *out = network_predict(net, input);

    int last = net->n - 1;
    if (out != net->layers[last].output) die(3, "layout check: network_predict output is not layers[n-1].output%s", "");

    char path[4096];
    snprintf(path, sizeof path, "%s/layers.txt", outdir);
    FILE *idx = fopen(path, "w");
    if (!idx) die(4, "cannot create %s", path);
    for (int i = 0; i < net->n; ++i) {
        layer l = net->layers[i];
        if (l.outputs != l.out_c * l.out_h * l.out_w) die(3, "layout check: outputs != out_c*out_h*out_w at a layer%s", "");
        fprintf(idx, "%d %s %d %d %d %d\n", i, layer_type_name(l.type), l.out_c, l.out_h, l.out_w, l.outputs);
        char name[64];
        snprintf(name, sizeof name, "layer_%d.f32", i);
        write_floats(outdir, name, l.output, (size_t)l.outputs);
    }
    if (fclose(idx) != 0) die(4, "cannot close %s", path);
    free(input);
    free_network(net);
    return 0;
}

static int mode_image(const char *rgb_file, int w, int h, int lw, int lh, int rw, int rh, const char *outdir) {
    size_t bytes = 0;
    uint8_t *px = (uint8_t *)read_all(rgb_file, &bytes);
    if (bytes != (size_t)w * h * 3) die(2, "RGB file size does not match W*H*3: %s", rgb_file);
    image im = make_image(w, h, 3);
    for (int k = 0; k < 3; ++k)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) im.data[k * w * h + y * w + x] = px[3 * (y * w + x) + k] / 255.;
    write_floats(outdir, "image.f32", im.data, (size_t)w * h * 3);

    image boxed = letterbox_image(im, lw, lh);
    if (boxed.w != lw || boxed.h != lh || boxed.c != 3) die(3, "letterbox_image returned an unexpected size%s", "");
    write_floats(outdir, "letterbox.f32", boxed.data, (size_t)lw * lh * 3);

    image sized = resize_image(im, rw, rh);
    if (sized.w != rw || sized.h != rh || sized.c != 3) die(3, "resize_image returned an unexpected size%s", "");
    write_floats(outdir, "resize.f32", sized.data, (size_t)rw * rh * 3);

    free_image(sized);
    free_image(boxed);
    free_image(im);
    free(px);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "forward") == 0) return mode_forward(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 10 && strcmp(argv[1], "image") == 0) {
        return mode_image(argv[2], parse_int(argv[3], "W"), parse_int(argv[4], "H"), parse_int(argv[5], "LW"),
                          parse_int(argv[6], "LH"), parse_int(argv[7], "RW"), parse_int(argv[8], "RH"), argv[9]);
    }
    fprintf(stderr,
            "usage: darknet_ref forward CFG WEIGHTS INPUT.f32 OUTDIR\n"
            "       darknet_ref image RGB.u8 W H LW LH RW RH OUTDIR\n");
    return 2;
}
