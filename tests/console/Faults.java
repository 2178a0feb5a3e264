// Calls the test node's fault-injection MBean (daedalus.testnode:type=Faults) over JMX, so the
// console tests can slow an import down or make a call throw:
//   java tests/console/Faults.java HOST:PORT delay OPERATION MILLIS
//   java tests/console/Faults.java HOST:PORT fail OPERATION EXCEPTION-CLASS MESSAGE
//   java tests/console/Faults.java HOST:PORT clear
import javax.management.ObjectName;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class Faults {
    public static void main(String[] args) throws Exception {
        var url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + args[0] + "/jmxrmi");
        try (var connector = JMXConnectorFactory.connect(url)) {
            var server = connector.getMBeanServerConnection();
            var faults = new ObjectName("daedalus.testnode:type=Faults");
            switch (args[1]) {
                case "delay" -> server.invoke(faults, "delay", new Object[] {args[2], Long.parseLong(args[3])},
                        new String[] {"java.lang.String", "long"});
                case "fail" -> server.invoke(faults, "fail", new Object[] {args[2], args[3], args[4]},
                        new String[] {"java.lang.String", "java.lang.String", "java.lang.String"});
                case "clear" -> server.invoke(faults, "clear", new Object[0], new String[0]);
                default -> throw new IllegalArgumentException("unknown fault command " + args[1]);
            }
        }
    }
}
