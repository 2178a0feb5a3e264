package daedalus.testnode;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Defines, at run time, exception classes the node does not have (e.g. {@code
 * org.apache.cassandra.exceptions.UnavailableException}) as {@code public class N extends S { public N(String m) {
 * super(m); } }}, so a fault can send a Cassandra-named exception over the wire. A client without that class sees
 * what it would see from a real node. Owns class generation only.
 */
final class SyntheticExceptions extends ClassLoader {
    private static final SyntheticExceptions INSTANCE = new SyntheticExceptions();
    private final Map<String, Class<?>> made = new HashMap<>();

    private SyntheticExceptions() {
        super(SyntheticExceptions.class.getClassLoader());
    }

    /** The class {@code name}: loaded if it exists, else defined as a subclass of {@code superName}. */
    static synchronized Class<?> get(String name, String superName) throws ClassNotFoundException {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            // not on the class path: make it
        }
        Class<?> existing = INSTANCE.made.get(name);
        if (existing != null) return existing;
        Class<?> sup = Class.forName(superName);
        if (!Throwable.class.isAssignableFrom(sup)) throw new ClassNotFoundException(superName + " is not a Throwable");
        if (!name.matches("([A-Za-z_$][A-Za-z0-9_$]*\\.)+[A-Za-z_$][A-Za-z0-9_$]*") || name.startsWith("java.")) {
            throw new ClassNotFoundException("cannot define " + name);
        }
        byte[] bytes;
        try {
            bytes = classFile(name.replace('.', '/'), superName.replace('.', '/'));
        } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
        }
        Class<?> c = INSTANCE.defineClass(name, bytes, 0, bytes.length);
        INSTANCE.made.put(name, c);
        return c;
    }

    /** A Java 17 class file with one public (String) constructor calling super(String). */
    private static byte[] classFile(String internalName, String superInternalName) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(0xCAFEBABE);
        out.writeShort(0); // minor
        out.writeShort(61); // major: Java 17
        out.writeShort(10); // constant pool count (entries 1..9)
        out.writeByte(7); out.writeShort(2); // #1 Class this
        out.writeByte(1); out.writeUTF(internalName); // #2
        out.writeByte(7); out.writeShort(4); // #3 Class super
        out.writeByte(1); out.writeUTF(superInternalName); // #4
        out.writeByte(1); out.writeUTF("<init>"); // #5
        out.writeByte(1); out.writeUTF("(Ljava/lang/String;)V"); // #6
        out.writeByte(1); out.writeUTF("Code"); // #7
        out.writeByte(12); out.writeShort(5); out.writeShort(6); // #8 NameAndType
        out.writeByte(10); out.writeShort(3); out.writeShort(8); // #9 Methodref super.<init>
        out.writeShort(0x0021); // public super
        out.writeShort(1); // this
        out.writeShort(3); // super
        out.writeShort(0); // interfaces
        out.writeShort(0); // fields
        out.writeShort(1); // methods
        out.writeShort(0x0001); // public
        out.writeShort(5);
        out.writeShort(6);
        out.writeShort(1); // attributes
        out.writeShort(7); // Code
        out.writeInt(18);
        out.writeShort(2); // max stack
        out.writeShort(2); // max locals
        out.writeInt(6); // code length
        out.write(new byte[] {0x2a, 0x2b, (byte) 0xb7, 0x00, 0x09, (byte) 0xb1}); // aload_0 aload_1 invokespecial #9 return
        out.writeShort(0); // exception table
        out.writeShort(0); // code attributes
        out.writeShort(0); // class attributes
        out.flush();
        return bytes.toByteArray();
    }
}
