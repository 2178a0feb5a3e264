package daedalus.testnode;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Array;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Append-only record of every operation invocation and attribute write on the Cassandra MBeans, one JSON object per
 * line, flushed per line to a file and kept in memory for the Faults MBean's CallLog attribute.
 *
 * <p>Owns JSON encoding of call arguments; it never decides what is logged (see {@link Exported}).
 */
final class CallLog {
    private final OutputStream out;
    private final List<String> lines = new ArrayList<>();

    CallLog(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    void operation(String mbean, String operation, String[] signature, Object[] args) {
        StringBuilder b = new StringBuilder("{\"mbean\":");
        json(b, mbean);
        b.append(",\"operation\":");
        json(b, operation);
        b.append(",\"signature\":");
        json(b, signature == null ? new String[0] : signature);
        b.append(",\"args\":");
        json(b, args == null ? new Object[0] : args);
        append(b.append('}').toString());
    }

    void attributeWrite(String mbean, String attribute, Object value) {
        StringBuilder b = new StringBuilder("{\"mbean\":");
        json(b, mbean);
        b.append(",\"attribute\":");
        json(b, attribute);
        b.append(",\"value\":");
        json(b, value);
        append(b.append('}').toString());
    }

    void attributeRead(String mbean, String attribute) {
        StringBuilder b = new StringBuilder("{\"mbean\":");
        json(b, mbean);
        b.append(",\"read\":");
        json(b, attribute);
        append(b.append('}').toString());
    }

    synchronized String[] lines() {
        return lines.toArray(new String[0]);
    }

    /** Forgets the in-memory lines (the file keeps the full history). */
    synchronized void clearMemory() {
        lines.clear();
    }

    private synchronized void append(String line) {
        lines.add(line);
        // The file's lines also say when (epoch millis, "at"), so the logs of several nodes can be
        // merged in time order; the in-memory lines stay as the call made them.
        String stamped = line.substring(0, line.length() - 1) + ",\"at\":" + System.currentTimeMillis() + "}";
        try {
            out.write((stamped + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            System.err.println("testnode: cannot write call log: " + e);
        }
    }

    static void json(StringBuilder b, Object v) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short
                || v instanceof Byte) {
            b.append(v);
        } else if (v instanceof Number) {
            double d = ((Number) v).doubleValue();
            if (Double.isFinite(d)) b.append(v);
            else json(b, v.toString());
        } else if (v instanceof Map) {
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) b.append(',');
                first = false;
                json(b, String.valueOf(e.getKey()));
                b.append(':');
                json(b, e.getValue());
            }
            b.append('}');
        } else if (v instanceof Collection) {
            b.append('[');
            boolean first = true;
            for (Object o : (Collection<?>) v) {
                if (!first) b.append(',');
                first = false;
                json(b, o);
            }
            b.append(']');
        } else if (v.getClass().isArray()) {
            b.append('[');
            int n = Array.getLength(v);
            for (int i = 0; i < n; i++) {
                if (i > 0) b.append(',');
                json(b, Array.get(v, i));
            }
            b.append(']');
        } else {
            String s = v.toString();
            b.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"': b.append("\\\""); break;
                    case '\\': b.append("\\\\"); break;
                    case '\n': b.append("\\n"); break;
                    case '\r': b.append("\\r"); break;
                    case '\t': b.append("\\t"); break;
                    default:
                        if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                        else b.append(c);
                }
            }
            b.append('"');
        }
    }
}
