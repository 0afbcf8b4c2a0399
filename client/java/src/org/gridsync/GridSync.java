package org.gridsync;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A device database (libgridsync's gs_db) for an Android app.
 *
 * <p>Threads: one GridSync may be shared between threads; every call is serialised on the
 * object (the methods are synchronized), so a {@link #sync} on a worker thread makes a
 * call from the UI thread wait until it ends. Apps that want reads during a sync open a
 * second GridSync on the same file (SQLite's WAL lets it read while the first writes).
 * A {@link ProgressListener} runs on the thread that called sync, inside the lock: it must
 * not call back into the same GridSync.
 *
 * <p>Close it (try-with-resources); a GridSync not closed keeps its file open until the
 * process ends.
 */
public final class GridSync implements AutoCloseable {
    static {
        System.loadLibrary("gridsync_jni");
    }

    /** Called after each request of a sync with the totals so far. */
    public interface ProgressListener {
        void onProgress(SyncResult soFar);
    }

    private long handle;

    private GridSync(long handle) {
        this.handle = handle;
    }

    /** Opens (creating it, mode 0600) the database at path. Throws WIPED when a remote wipe
     *  of it had been interrupted: it is now completed (the file is gone); open again to
     *  get a new, empty database. */
    public static GridSync open(String path) throws GridSyncException {
        return new GridSync(nOpen(path, null));
    }

    /** Opens an encrypted database (a new one is created encrypted) with the app's key,
     *  1 to 1024 bytes: on Android a secret the Keystore protects, never a constant in
     *  the app. The library copies the key; wipe your array after the call
     *  ({@code Arrays.fill(key, (byte) 0)}). Throws {@link GridSyncException#KEY} when the key
     *  does not open the file (nothing is written) or the library has no encryption
     *  ({@link #canEncrypt()}). A null key is {@link #open(String)}. */
    public static GridSync open(String path, byte[] key) throws GridSyncException {
        return new GridSync(nOpen(path, key));
    }

    /** True when the native library was built with SQLCipher (make SQLCIPHER=1). */
    public static boolean canEncrypt() {
        return nCanEncrypt();
    }

    /** Re-encrypts the database under newKey (a plain one becomes encrypted), atomically:
     *  after a crash the file opens with exactly one of the two keys, so store newKey
     *  before the call and drop the old key after it. STATE while a sync runs elsewhere. */
    public synchronized void rekey(byte[] newKey) throws GridSyncException {
        nRekey(h(), newKey);
    }

    /** Stores the device's settings (what `gridsync init` does); caPem is the CA's PEM text. */
    public synchronized void init(String deviceId, String token, String serverUrl, String caPem,
                                  List<String> grids, String worker) throws GridSyncException {
        nInit(h(), deviceId, token, serverUrl, caPem, grids.toArray(new String[0]), worker);
    }

    /** Writes a new record; returns its id (also set on rec). */
    public synchronized String add(Record rec) throws GridSyncException {
        String id = nAdd(h(), rec.getTable(), rec.getId(), rec.keys(), rec.values());
        rec.setId(id);
        return id;
    }

    /** Writes the fields set on rec to the record with rec's id. */
    public synchronized void update(Record rec) throws GridSyncException {
        nUpdate(h(), rec.getId(), rec.keys(), rec.values());
    }

    public synchronized void delete(String id) throws GridSyncException {
        nDelete(h(), id);
    }

    /** The live record with this id; GridSyncException NOT_FOUND when there is none. */
    public synchronized Record show(String id) throws GridSyncException {
        return nGet(h(), id);
    }

    /** Live records of table, newest first, each field equal to where's text; limit 0: all. */
    public synchronized List<Record> list(String table, Map<String, String> where, long limit)
            throws GridSyncException {
        String[] k = where == null ? new String[0] : where.keySet().toArray(new String[0]);
        String[] v = where == null ? new String[0] : where.values().toArray(new String[0]);
        return Arrays.asList(nList(h(), table, k, v, limit, -1));
    }

    /** The device's warnings in the order to take them; all: the cleared ones too. */
    public synchronized List<Record> warnings(boolean all) throws GridSyncException {
        return Arrays.asList(nList(h(), "warning", new String[0], new String[0], 0, all ? 1 : 0));
    }

    /** Acknowledges a warning with a note (the only write a device may make to one). */
    public synchronized void acknowledgeWarning(String id, String note) throws GridSyncException {
        nUpdate(h(), id, new String[] {"state", "note"}, new String[] {"acknowledged", note});
    }

    /** Attaches a JPEG, PNG or PDF to the live record recordId (images are shrunk, turned
     *  upright and stripped of their metadata: docs/CLIENT.md); returns the attachment's id. */
    public synchronized String attach(String recordId, byte[] data, String caption)
            throws GridSyncException {
        return nAttach(h(), recordId, data, caption);
    }

    /** The live attachments of recordId, oldest first. */
    public synchronized List<Attachment> attachments(String recordId) throws GridSyncException {
        return Arrays.asList(nAttachments(h(), recordId));
    }

    /** An attachment's bytes: which is Attachment.FULL, THUMB or ORIGINAL; NOT_FOUND when
     *  they are not on this device. */
    public synchronized byte[] attachmentBytes(String attachmentId, int which)
            throws GridSyncException {
        return nAttachmentBytes(h(), attachmentId, which);
    }

    public synchronized Status status() throws GridSyncException {
        return nStatus(h());
    }

    /** Syncs until nothing is left to send or pull. Throws with NETWORK/TIMEOUT (nothing
     *  lost), AUTH (revoked or wrong token), REJECTED (done, some changes refused), WIPED
     *  (revoked with a remote wipe: the database file is deleted and this GridSync is
     *  closed), ... */
    public synchronized SyncResult sync(ProgressListener progress) throws GridSyncException {
        try {
            return nSync(h(), progress);
        } catch (GridSyncException e) {
            if (e.getCode() == GridSyncException.WIPED) close(); /* it holds nothing now */
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        if (handle != 0) {
            nClose(handle);
            handle = 0;
        }
    }

    private long h() throws GridSyncException {
        if (handle == 0) throw new GridSyncException(GridSyncException.STATE, "GridSync is closed");
        return handle;
    }

    private static native long nOpen(String path, byte[] key) throws GridSyncException;
    private static native boolean nCanEncrypt();
    private static native void nRekey(long h, byte[] key) throws GridSyncException;
    private static native void nClose(long h);
    private static native void nInit(long h, String dev, String token, String url, String ca,
                                     String[] grids, String worker) throws GridSyncException;
    private static native String nAdd(long h, String table, String id, String[] k, String[] v)
            throws GridSyncException;
    private static native void nUpdate(long h, String id, String[] k, String[] v)
            throws GridSyncException;
    private static native void nDelete(long h, String id) throws GridSyncException;
    private static native Record nGet(long h, String id) throws GridSyncException;
    private static native Record[] nList(long h, String table, String[] k, String[] v, long limit,
                                         int warnings) throws GridSyncException;
    private static native String nAttach(long h, String rid, byte[] data, String caption)
            throws GridSyncException;
    private static native Attachment[] nAttachments(long h, String rid) throws GridSyncException;
    private static native byte[] nAttachmentBytes(long h, String aid, int which)
            throws GridSyncException;
    private static native Status nStatus(long h) throws GridSyncException;
    private static native SyncResult nSync(long h, ProgressListener p) throws GridSyncException;
}
