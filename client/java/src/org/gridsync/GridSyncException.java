package org.gridsync;

/** A failed call of libgridsync: {@link #getCode()} is the library's gs_rc code
 *  (client/gridsync_rc.h, never renumbered), the message says what to do. */
public class GridSyncException extends Exception {
    private static final long serialVersionUID = 1L;
    public static final int INVALID = 2;
    public static final int NOT_FOUND = 3;
    public static final int NETWORK = 17;
    public static final int TIMEOUT = 18;
    public static final int TLS = 19;
    public static final int AUTH = 20;
    public static final int REJECTED = 21;
    public static final int CONFIG = 23;
    public static final int EXISTS = 28;
    public static final int STATE = 29;
    public static final int READ_ONLY = 30;
    /** The device was revoked with a remote wipe: its database, attachments and token are
     *  deleted (the GridSync that saw it is closed); enrol the device again. */
    public static final int WIPED = 31;
    /** The database key is wrong or missing ({@link GridSync#open(String, byte[])}). */
    public static final int KEY = 32;

    private final int code;

    public GridSyncException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The gs_rc code (GS_E_AUTH = 20, ...). */
    public int getCode() {
        return code;
    }
}
