// Writes one serialization stream per case into the directory given as the first argument.
// Used by tests/golden.rs, which decodes each stream and compares the writer's output with it.
import java.io.*;
import java.lang.reflect.*;
import java.math.*;
import java.util.*;
import java.util.concurrent.TimeUnit;
import javax.management.*;
import javax.management.openmbean.*;

public class GoldenGen {
    static File dir;

    static void write(String name, Object o) throws IOException {
        try (ObjectOutputStream out = new ObjectOutputStream(new FileOutputStream(new File(dir, name + ".ser")))) {
            out.writeObject(o);
        }
    }

    public static class Custom implements Serializable {
        private static final long serialVersionUID = 77L;
        int a = 7;
        String s = "t";
        private void writeObject(ObjectOutputStream o) throws IOException {
            o.defaultWriteObject();
            o.writeInt(99);
            o.writeObject("extra");
            o.writeUTF("utf");
        }
        private void readObject(ObjectInputStream i) throws IOException, ClassNotFoundException {
            i.defaultReadObject(); i.readInt(); i.readObject(); i.readUTF();
        }
    }

    public static class Ext implements Externalizable {
        public Ext() {}
        public void writeExternal(ObjectOutput out) throws IOException { out.writeInt(5); out.writeObject("e"); }
        public void readExternal(ObjectInput in) throws IOException, ClassNotFoundException { in.readInt(); in.readObject(); }
    }

    public static class Handler implements InvocationHandler, Serializable {
        private static final long serialVersionUID = 1L;
        String tag = "h";
        public Object invoke(Object p, Method m, Object[] a) { return null; }
    }

    public static void main(String[] args) throws Exception {
        dir = new File(args[0]);
        write("int", 42);
        write("long", 1234567890123L);
        write("short", (short) -7);
        write("byte", (byte) -2);
        write("char", 'é');
        write("float", 1.5f);
        write("double", -2.25);
        write("boolean", true);
        write("string_mutf8", "a\0b\uD83D\uDE00é");
        write("long_string", "x".repeat(70000) + "é");
        write("bytes", new byte[] {1, 2, -3});
        write("ints", new int[] {1, -2, 3});
        write("longs", new long[] {5L, -6L});
        write("booleans", new boolean[] {true, false});
        write("doubles", new double[] {0.5});
        write("chars", new char[] {'a', 'z'});
        write("strings", new String[] {"a", null, "b"});
        write("objects", new Object[] {1, "s", null, true, 1, 300, 300, false, true});
        write("nested_array", new String[][] {{"a"}, {"b", "c"}});
        write("enum", TimeUnit.SECONDS);
        write("enums", new Object[] {TimeUnit.SECONDS, TimeUnit.DAYS, TimeUnit.SECONDS});
        write("uuid", new UUID(0x123e4567e89b12d3L, 0xa456426614174000L));
        write("date", new Date(1700000000123L));
        write("bigint", new BigInteger("-123456789012345678901234567890"));
        write("bigdec", new BigDecimal("12345.6789"));
        write("bigdec_exp", new BigDecimal("1.23E+10"));
        write("objectname", new ObjectName("org.apache.cassandra.db:type=StorageService"));
        write("arraylist", new ArrayList<Object>(Arrays.asList("a", 1, 2L, 1, 300, 300)));
        write("linkedlist", new LinkedList<Object>(Arrays.asList("l1", "l2")));
        write("arrays_aslist", Arrays.asList("p", "q"));
        write("hashset", new HashSet<Object>(Arrays.asList("x", "y", "z")));
        write("linkedhashset", new LinkedHashSet<Object>(Arrays.asList("c", "a", "b")));
        write("treeset", new TreeSet<Object>(Arrays.asList("m", "k")));
        HashMap<Object, Object> hm = new HashMap<>();
        for (int i = 0; i < 20; i++) hm.put("k" + i, i);
        write("hashmap", hm);
        LinkedHashMap<Object, Object> lhm = new LinkedHashMap<>();
        lhm.put("z", 1L); lhm.put("a", "v");
        write("linkedhashmap", lhm);
        TreeMap<Object, Object> tm = new TreeMap<>();
        tm.put("b", 2); tm.put("a", 1);
        write("treemap", tm);
        Hashtable<Object, Object> ht = new Hashtable<>();
        ht.put("h", true);
        write("hashtable", ht);
        HashMap<Object, Object> im = new HashMap<>();
        im.put(1, "one"); im.put(2, "two");
        write("intkeymap", im);
        write("unmod_list", Collections.unmodifiableList(new ArrayList<Object>(Arrays.asList("u"))));
        write("unmod_set", Collections.unmodifiableSet(new HashSet<Object>(Arrays.asList("s"))));
        write("unmod_map", Collections.unmodifiableMap(new HashMap<Object, Object>(Map.of("k", "v"))));
        write("singleton_list", Collections.singletonList("only"));
        write("singleton_set", Collections.singleton("only"));
        write("singleton_map", Collections.singletonMap("k", 1));
        write("empty_list", Collections.emptyList());
        write("empty_set", Collections.emptySet());
        write("empty_map", Collections.emptyMap());
        write("sync_list", Collections.synchronizedList(new ArrayList<Object>(Arrays.asList("y"))));
        write("checked_list", Collections.checkedList(new ArrayList<String>(Arrays.asList("c")), String.class));
        write("list_of", List.of(1, 2));
        write("set_of", Set.of("s"));
        write("map_of", Map.of("k", "v"));
        AttributeList al = new AttributeList();
        al.add(new Attribute("a", 1));
        write("attributelist", al);
        CompositeType ct = new CompositeType("Snap", "a snapshot", new String[] {"count", "name"},
                new String[] {"c", "n"}, new OpenType<?>[] {SimpleType.INTEGER, SimpleType.STRING});
        CompositeDataSupport cd = new CompositeDataSupport(ct, new String[] {"count", "name"}, new Object[] {3, "n1"});
        write("composite", cd);
        TabularType tt = new TabularType("Tab", "a table", ct, new String[] {"name"});
        TabularDataSupport td = new TabularDataSupport(tt);
        td.put(cd);
        td.put(new CompositeDataSupport(ct, new String[] {"count", "name"}, new Object[] {4, "n2"}));
        write("tabular", td);
        write("custom", new Custom());
        write("externalizable", new Ext());
        write("class", String.class);
        write("proxy", Proxy.newProxyInstance(GoldenGen.class.getClassLoader(), new Class<?>[] {Runnable.class}, new Handler()));
        write("exception", new IllegalStateException("boom"));
        List<Object> inner = new ArrayList<>(Arrays.asList("i"));
        write("shared_ref", new ArrayList<Object>(Arrays.asList(inner, inner)));
        ArrayList<Object> self = new ArrayList<>();
        self.add(self);
        write("self_list", self);
        try (ObjectOutputStream out = new ObjectOutputStream(new FileOutputStream(new File(dir, "primitives.ser")))) {
            out.writeInt(1);
            out.writeLong(2L);
            out.writeUTF("hi\0");
            out.writeObject("obj");
            out.writeDouble(3.5);
            out.writeShort(-1);
            out.writeBoolean(true);
            out.writeFloat(0.25f);
            out.write(new byte[3000]);
            out.writeByte(9);
        }
    }
}
