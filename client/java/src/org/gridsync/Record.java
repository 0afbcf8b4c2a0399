package org.gridsync;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** One record (resident, visit, care, warning, ...): its table, its id once written, and
 *  its fields as text, written as a person would (numbers, true/false, ISO 8601 times,
 *  enum names, record ids, tags comma-separated; "" clears a field on update). The text
 *  forms are libgridsync's (gs_record_set_text / gs_record_text, docs/CLIENT.md). */
public final class Record {
    private final String table;
    private String id;
    private final Map<String, String> fields = new LinkedHashMap<>();

    public Record(String table) {
        this.table = table;
    }

    /** Used by the native layer for records read from the database. */
    Record(String table, String id, String[] keys, String[] values) {
        this.table = table;
        this.id = id;
        for (int i = 0; i < keys.length; i++) fields.put(keys[i], values[i]);
    }

    public String getTable() { return table; }
    /** null until {@link GridSync#add} wrote it. */
    public String getId() { return id; }
    void setId(String id) { this.id = id; }

    /** Sets a field (as text); returns this, so calls chain. */
    public Record set(String field, String text) {
        fields.put(field, text);
        return this;
    }

    /** A field as text, or null when it has no value. */
    public String get(String field) { return fields.get(field); }

    public Map<String, String> getFields() { return Collections.unmodifiableMap(fields); }

    String[] keys() { return fields.keySet().toArray(new String[0]); }
    String[] values() { return fields.values().toArray(new String[0]); }

    @Override
    public String toString() { return table + " " + id + " " + fields; }
}
