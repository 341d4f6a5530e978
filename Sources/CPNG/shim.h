// libpng 1.6 and zlib (Debian libpng-dev, zlib1g-dev).
//
// libpng reports errors with longjmp, which must never unwind through Swift
// frames. The functions below keep every setjmp/longjmp inside C: they read or
// write a whole PNG from/to memory and return an error message instead.
// (The simplified png_image API would also avoid setjmp, but it converts
// 16-bit samples to linear light and premultiplies alpha: not exact samples.)
#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/// Result of anogan_png_decode. `samples` (malloc'd, caller frees with
/// anogan_png_free) holds width*height*channels values, row-major, interleaved.
typedef struct {
    int width, height, channels, bit_depth;
    unsigned short *samples;
    char message[200];
} anogan_png_decoded;

typedef struct {
    const unsigned char *data;
    size_t size, position;
} anogan_png_reader;

static void anogan_png_read_bytes(png_structp png, png_bytep out, size_t count) {
    anogan_png_reader *r = (anogan_png_reader *)png_get_io_ptr(png);
    if (count > r->size - r->position) png_error(png, "truncated file");
    memcpy(out, r->data + r->position, count);
    r->position += count;
}

static void anogan_png_error(png_structp png, png_const_charp msg) {
    char *message = (char *)png_get_error_ptr(png);
    strncpy(message, msg, 199);
    message[199] = 0;
    png_longjmp(png, 1);
}

static void anogan_png_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

/// Decodes a PNG held in memory. Palette and 1/2/4-bit grey are expanded to
/// 8 bits, tRNS becomes an alpha channel; 16-bit samples are returned exactly
/// (no gamma conversion). Returns 0 on success, -1 with `out->message` set.
static inline int anogan_png_decode(const unsigned char *data, size_t size, anogan_png_decoded *out) {
    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        strcpy(out->message, "not a PNG file (bad signature)");
        return -1;
    }
    anogan_png_reader reader = { data, size, 0 };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, out->message, anogan_png_error, anogan_png_warning);
    if (!png) { strcpy(out->message, "cannot create libpng reader"); return -1; }
    png_infop info = png_create_info_struct(png);
    png_bytep volatile pixels = NULL;
    png_bytepp volatile rows = NULL;
    unsigned short *volatile samples = NULL;
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); strcpy(out->message, "cannot create libpng info"); return -1; }
    if (setjmp(png_jmpbuf(png))) {
        free(pixels); free(rows); free(samples);
        png_destroy_read_struct(&png, &info, NULL);
        if (out->message[0] == 0) strcpy(out->message, "corrupt PNG");
        return -1;
    }
    png_set_read_fn(png, &reader, anogan_png_read_bytes);
    png_set_user_limits(png, 65536, 65536);
    png_read_info(png, info);
    png_set_expand(png);              // palette → RGB, grey < 8 bits → 8, tRNS → alpha
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int channels = png_get_channels(png, info), depth = png_get_bit_depth(png, info);
    if (depth != 8 && depth != 16) png_error(png, "unsupported bit depth after expansion");
    size_t rowbytes = png_get_rowbytes(png, info);
    size_t count = (size_t)width * height * channels;
    if ((double)width * height * channels > 1.0e9) png_error(png, "image too large");
    // Deflate expands at most ~1032:1, so a header declaring far more pixels than
    // the file could hold is corrupt: refuse before allocating for it.
    if ((double)(rowbytes + 1) * height > (double)size * 1100.0 + 65536.0) png_error(png, "header declares an image larger than the file can hold");
    if (rowbytes != (size_t)width * channels * (depth / 8)) png_error(png, "unexpected row size");
    pixels = (png_bytep)malloc(rowbytes * height);
    rows = (png_bytepp)malloc(sizeof(png_bytep) * height);
    samples = (unsigned short *)malloc(sizeof(unsigned short) * (count ? count : 1));
    if (!pixels || !rows || !samples) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);          // checks the chunks after the image data (and IEND) too
    if (depth == 16) {
        for (size_t i = 0; i < count; i++) samples[i] = (unsigned short)(pixels[2 * i] << 8 | pixels[2 * i + 1]);
    } else {
        for (size_t i = 0; i < count; i++) samples[i] = pixels[i];
    }
    free(pixels); free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)width; out->height = (int)height; out->channels = channels; out->bit_depth = depth;
    out->samples = samples;
    return 0;
}

static inline void anogan_png_free(void *p) { free(p); }

/// Result of anogan_png_encode: a malloc'd PNG file (caller frees with anogan_png_free).
typedef struct {
    unsigned char *bytes;
    size_t size, capacity;
    int failed;
    char message[200];
} anogan_png_encoded;

static void anogan_png_write_bytes(png_structp png, png_bytep in, size_t count) {
    anogan_png_encoded *w = (anogan_png_encoded *)png_get_io_ptr(png);
    if (w->size + count > w->capacity) {
        size_t capacity = w->capacity ? w->capacity : 4096;
        while (capacity < w->size + count) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(w->bytes, capacity);
        if (!grown) png_error(png, "out of memory");
        w->bytes = grown;
        w->capacity = capacity;
    }
    memcpy(w->bytes + w->size, in, count);
    w->size += count;
}

static void anogan_png_flush(png_structp png) { (void)png; }

/// Encodes samples (row-major, interleaved; 8-bit in the low byte when depth is 8)
/// as a PNG in memory. channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; depth 8 or 16.
/// Returns 0 on success, -1 with `out->message` set.
static inline int anogan_png_encode(const unsigned short *samples, int width, int height, int channels, int depth, anogan_png_encoded *out) {
    memset(out, 0, sizeof *out);
    static const int types[5] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16) || width < 1 || height < 1) {
        strcpy(out->message, "unsupported image layout");
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, out->message, anogan_png_error, anogan_png_warning);
    if (!png) { strcpy(out->message, "cannot create libpng writer"); return -1; }
    png_infop info = png_create_info_struct(png);
    size_t rowbytes = (size_t)width * channels * (depth / 8);
    png_bytep volatile row = NULL;
    if (!info) { png_destroy_write_struct(&png, NULL); strcpy(out->message, "cannot create libpng info"); return -1; }
    if (setjmp(png_jmpbuf(png))) {
        free(row); free(out->bytes); out->bytes = NULL; out->size = 0;
        png_destroy_write_struct(&png, &info);
        if (out->message[0] == 0) strcpy(out->message, "cannot encode PNG");
        return -1;
    }
    png_set_write_fn(png, out, anogan_png_write_bytes, anogan_png_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, depth, types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    row = (png_bytep)malloc(rowbytes);
    if (!row) png_error(png, "out of memory");
    size_t perRow = (size_t)width * channels;
    for (int y = 0; y < height; y++) {
        const unsigned short *src = samples + (size_t)y * perRow;
        if (depth == 16) {
            for (size_t i = 0; i < perRow; i++) { row[2 * i] = (png_byte)(src[i] >> 8); row[2 * i + 1] = (png_byte)(src[i] & 0xFF); }
        } else {
            for (size_t i = 0; i < perRow; i++) row[i] = (png_byte)src[i];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    free(row);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/// inflateInit2 is a macro; this wrapper makes it callable from Swift.
/// windowBits 15+32 accepts both zlib and gzip streams.
static inline int anogan_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 32);
}

/// deflateInit2 for writing gzip (windowBits 15+16), used to make test fixtures and .gz outputs.
static inline int anogan_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
