package org.gridsync;

/** A photo or PDF attached to a record (gs_attachment_info); its bytes through
 *  {@link GridSync#attachmentBytes}. */
public final class Attachment {
    public static final int FULL = 0;     /* the stored image (JPEG) or PDF */
    public static final int THUMB = 1;    /* the thumbnail JPEG */
    public static final int ORIGINAL = 2; /* the bytes as given (kept on the device only) */

    public final String id, record, mime, sha256, caption;
    public final long bytes, thumbBytes;
    public final int width, height;
    public final boolean haveFull, haveThumb;

    Attachment(String id, String record, String mime, String sha256, String caption, long bytes,
               long thumbBytes, int width, int height, boolean haveFull, boolean haveThumb) {
        this.id = id; this.record = record; this.mime = mime; this.sha256 = sha256;
        this.caption = caption; this.bytes = bytes; this.thumbBytes = thumbBytes;
        this.width = width; this.height = height; this.haveFull = haveFull;
        this.haveThumb = haveThumb;
    }
}
