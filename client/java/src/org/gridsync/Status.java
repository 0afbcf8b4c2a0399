package org.gridsync;

/** The device's state (gs_status). */
public final class Status {
    public final boolean initialised;
    public final String deviceId, worker, grids, serverUrl, lastSyncResult;
    public final long pending, pendingSent, rejected, records, lastSyncMs, openWarnings;

    Status(boolean initialised, String deviceId, String worker, String grids, String serverUrl,
           String lastSyncResult, long pending, long pendingSent, long rejected, long records,
           long lastSyncMs, long openWarnings) {
        this.initialised = initialised; this.deviceId = deviceId; this.worker = worker;
        this.grids = grids; this.serverUrl = serverUrl; this.lastSyncResult = lastSyncResult;
        this.pending = pending; this.pendingSent = pendingSent; this.rejected = rejected;
        this.records = records; this.lastSyncMs = lastSyncMs; this.openWarnings = openWarnings;
    }
}
