package daedalus.testnode;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.JMException;
import javax.management.AttributeNotFoundException;
import javax.management.Descriptor;
import javax.management.ImmutableDescriptor;
import javax.management.InvalidAttributeValueException;
import javax.management.MBeanException;
import javax.management.MBeanInfo;
import javax.management.NotCompliantMBeanException;
import javax.management.ReflectionException;
import javax.management.StandardMBean;

/**
 * A Cassandra MBean as registered: a StandardMBean over one per-version interface that logs every operation and
 * attribute write to the call log and applies injected faults before dispatching. Exceptions from the implementation
 * reach the client exactly as from a plain Standard MBean (shared/reference/cassandra-jmx.md §5.2).
 *
 * <p>Owns the interception only; behaviour belongs to the implementation object.
 */
final class Exported extends StandardMBean {
    private final String objectName;
    private final String className;
    private final Node node;

    <T> Exported(T impl, Class<T> surface, String objectName, String className, Node node)
            throws NotCompliantMBeanException {
        super(impl, surface);
        this.objectName = objectName;
        this.className = className;
        this.node = node;
    }

    @SuppressWarnings("unchecked")
    static Exported of(Object impl, Class<?> surface, String objectName, String className, Node node)
            throws NotCompliantMBeanException {
        return new Exported(impl, (Class<Object>) surface, objectName, className, node);
    }

    @Override
    public Object invoke(String operation, Object[] params, String[] signature)
            throws MBeanException, ReflectionException {
        node.touch();
        node.callLog().operation(objectName, operation, signature, params);
        node.faults().apply(operation, true);
        return super.invoke(operation, params, signature);
    }

    @Override
    public Object getAttribute(String attribute)
            throws AttributeNotFoundException, MBeanException, ReflectionException {
        node.touch();
        if (node.logReads()) node.callLog().attributeRead(objectName, attribute);
        node.faults().apply(attribute, false);
        return super.getAttribute(attribute);
    }

    @Override
    public AttributeList getAttributes(String[] attributes) {
        AttributeList out = new AttributeList();
        for (String a : attributes) {
            try {
                out.add(new Attribute(a, getAttribute(a)));
            } catch (JMException | RuntimeException e) {
                // as the JDK does: attributes that cannot be read are left out
            }
        }
        return out;
    }

    @Override
    public void setAttribute(Attribute attribute)
            throws AttributeNotFoundException, InvalidAttributeValueException, MBeanException, ReflectionException {
        node.touch();
        node.callLog().attributeWrite(objectName, attribute.getName(), attribute.getValue());
        node.faults().apply("set" + attribute.getName(), true);
        super.setAttribute(attribute);
    }

    @Override
    protected String getClassName(MBeanInfo info) {
        return className;
    }

    /**
     * The JDK puts the management interface's name into the descriptor ("interfaceClassName"); report Cassandra's
     * ({@code <implementation class>MBean}, e.g. org.apache.cassandra.service.StorageServiceMBean) instead of ours.
     */
    @Override
    public MBeanInfo getMBeanInfo() {
        MBeanInfo info = super.getMBeanInfo();
        Descriptor d = info.getDescriptor();
        if (d.getFieldValue("interfaceClassName") == null) return info;
        String[] names = d.getFieldNames();
        Object[] values = d.getFieldValues(names);
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals("interfaceClassName")) values[i] = className + "MBean";
        }
        return new MBeanInfo(info.getClassName(), info.getDescription(), info.getAttributes(), info.getConstructors(),
                info.getOperations(), info.getNotifications(), new ImmutableDescriptor(names, values));
    }
}
